"""The web console's services: console accounts (operator and tenant administrators), their
sessions, the settings form and the test webhook event. Pages are in handlers/console*.py."""
