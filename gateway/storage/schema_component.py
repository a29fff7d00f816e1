"""Schema of the third-party platform (component) mode (versions 100-109): the latest
component_verify_ticket WeChat pushed, and one row per authorizer account with its sealed
authorizer_refresh_token."""
from __future__ import annotations

from gateway.storage.migration import Migration

MIGRATIONS: tuple[Migration, ...] = (
    Migration(100, "component verify tickets and authorizers", (
        # One row per platform AppID; `sealed` is the ticket under the master key, `create_time` WeChat's.
        """CREATE TABLE component_tickets (
            component_appid {key} NOT NULL PRIMARY KEY, sealed {blob} NOT NULL, create_time {ts} NOT NULL,
            received_at {ts} NOT NULL){opts}""",
        # tenant_id is 0 until the authorizer is connected to a tenant (an authorization seen by push
        # or exchanged before the console's redirect finished). refresh_sealed: the latest
        # authorizer_refresh_token, sealed and bound to the appid; status authorized | revoked.
        """CREATE TABLE component_authorizers (
            authorizer_appid {key} NOT NULL PRIMARY KEY, tenant_id {int} NOT NULL DEFAULT 0,
            refresh_sealed {blob}, func_info {text} NOT NULL, status {key} NOT NULL,
            authorized_at {ts} NOT NULL, updated_at {ts} NOT NULL){opts}""",
        "CREATE INDEX component_authorizers_tenant ON component_authorizers (tenant_id)",
    )),
)
