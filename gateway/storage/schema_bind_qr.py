"""Schema of scan-to-bind requests: one row per bind QR code a tenant asked for (versions 40-49)."""
from __future__ import annotations

from gateway.storage.migration import Migration

MIGRATIONS: tuple[Migration, ...] = (
    Migration(40, "bind QR codes", (
        # status: waiting -> bound | cancelled | used (expiry is judged from expires_at when read).
        # `scene` is the random single-use token inside the QR code's scene_str; `ticket` is WeChat's.
        """CREATE TABLE bind_qr (
            id {pk}, tenant_id {int} NOT NULL, ticket {key} NOT NULL, scene {key} NOT NULL,
            account_id {int} NOT NULL, qr_url {text} NOT NULL, status {key} NOT NULL,
            created_at {ts} NOT NULL, expires_at {ts} NOT NULL, scanned_openid {key}, scanned_at {ts},
            finished_at {ts}, UNIQUE (scene), UNIQUE (tenant_id, ticket)){opts}""",
        "CREATE INDEX bind_qr_account ON bind_qr (tenant_id, account_id, status)",
    )),
)
