"""The platform every domain stands on: settings (config), the clock, sealed secrets (secretbox),
metrics, the audit log, the event log, small per-tenant facts (tenant_state), the contract's
errors, pagination, outbound HTTP with SSRF checks (safe_http), logging, the tenant model, registry
and validation, and the URLs of a tenant's pages (links). May use gateway.wechat, gateway.storage
and gateway.cache; never a domain package, tenants/, the root or the handlers."""
