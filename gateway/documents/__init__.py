"""Documents waiting for people and everything that tells them: the documents service (PUT, close,
decisions, inbox), the notification outbox, template sends through the token centre
(template_sender), signed webhooks of events (webhooks) and the delivery workers. What it needs to
know about people comes through the Protocols in recipients.py (answered by gateway.accounts). May
use the platform, the token centre, gateway.wechat, storage and cache."""
