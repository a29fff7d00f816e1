"""The gateway's core, with no HTTP handler in it: the platform, the domains (tokens, callbacks,
accounts, documents, onboarding), the WeChat protocol and API client, storage and cache, and the
composition root (root.py) that builds them all. See README, "Architecture"."""
