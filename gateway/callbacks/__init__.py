"""WeChat's pushes to each tenant's server URL: checks (size, signatures, freshness, XML, decryption,
AppID), retry dedupe across processes (dedupe), the tenant's rule table (rulebook, built from
tenants/), followers, and the passive reply (pipeline). May use the platform, tenants/, gateway.wechat,
storage and cache; what it needs of documents (the 待办 count, delivery reports) comes in as the
narrow Protocols of tenants/ (InboxProvider, DeliveryHook)."""
