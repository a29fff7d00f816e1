"""Connecting a tenant's service account: menus checked against WeChat's limits and pushed
(menus), and the live onboarding checklist (checklist). May use the platform, the token centre and
gateway.wechat."""
