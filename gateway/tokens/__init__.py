"""The token centre: each tenant's access_token and jsapi_ticket, fetched once for all processes
under a cache lease (store), refreshed before expiry, dropped only while still the one that failed,
and the retry path every WeChat call goes through (centre); JS-SDK signatures. May use the platform,
gateway.wechat and the cache; the domains above it (accounts, documents, callbacks, onboarding)
call it."""
