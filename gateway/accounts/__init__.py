"""A tenant's people and how they sign in: field rules (rules), lookups (directory), the tenant
API's account operations and import (service, importer), sign-in and password change under the
login limits (sign_in, login_limits), passwords and their policy (passwords, password_policy),
WeChat web authorisation (oauth), bindings of openids to accounts (bindings) and sessions (sessions).
May use the platform, the token-free parts of gateway.wechat, storage and cache; never documents,
callbacks or onboarding."""
