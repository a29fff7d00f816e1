"""WeChat's protocol as data and small functions: signatures and safe-mode crypto, message XML,
menu rules, template data limits, and the async API client with one small module per API domain
(api/). Knows nothing of tenants, storage or the rest of the gateway."""
