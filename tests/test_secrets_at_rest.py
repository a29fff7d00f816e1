"""Tenant secrets: encrypted at rest and bound to their tenant, never in a response or a log line."""
from __future__ import annotations

import logging

import pytest

from gateway.platform.secretbox import SecretBox, SecretError
from harness import tenant_body

AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"


def _secret_values(body: dict, created: dict) -> list[str]:
    return [body["wechat"]["app_secret"], body["wechat"]["token"], AES_KEY, created["api_key"],
            created["webhook_secret"], created["webhook_secret"].removeprefix("whsec_")]


async def test_raw_database_holds_no_secret_in_clear(env):
    async with env.gateway() as g:
        body = tenant_body("acme")
        body["wechat"]["encoding_aes_key"] = AES_KEY
        body["wechat"]["message_mode"] = "safe"
        created = (await g.admin("POST", "/admin/api/tenants", body)).json
        dump = []
        for table in ("tenants", "audit", "tenant_state", "events"):
            for row in await g.gw.storage.fetchall(f"SELECT * FROM {table}"):
                dump.extend(bytes(v).hex() if isinstance(v, (bytes, bytearray)) else str(v) for v in row.values())
        text = " ".join(dump)
        for secret in _secret_values(body, created):
            assert secret not in text
            assert secret.encode().hex() not in text


async def test_ciphertext_copied_to_another_tenant_does_not_open(env):
    async with env.gateway() as g:
        await g.create_tenant("acme")
        await g.create_tenant("beta")
        acme = await g.gw.storage.fetchone("SELECT secrets FROM tenants WHERE slug = ?", ("acme",))
        await g.gw.storage.execute("UPDATE tenants SET secrets = ? WHERE slug = ?", (acme["secrets"], "beta"))
        await g.gw.registry.load_all()
        assert g.gw.registry.get("beta") is None  # refused to load rather than using acme's secrets
        assert g.gw.registry.get("acme") is not None


def test_secretbox_binds_context_and_detects_tampering():
    box = SecretBox(bytes(range(32)))
    sealed = box.seal(b"app-secret", "tenant:acme")
    assert box.open(sealed, "tenant:acme") == b"app-secret"
    with pytest.raises(SecretError):
        box.open(sealed, "tenant:beta")
    tampered = sealed[:-1] + bytes([sealed[-1] ^ 1])
    with pytest.raises(SecretError):
        box.open(tampered, "tenant:acme")
    with pytest.raises(SecretError):
        SecretBox(bytes(32)).open(sealed, "tenant:acme")


async def test_no_secret_in_any_log_line_of_a_full_run(env, caplog):
    caplog.set_level(logging.DEBUG)
    async with env.gateway() as g:
        body = tenant_body("acme")
        body["wechat"]["encoding_aes_key"] = AES_KEY
        created = (await g.admin("POST", "/admin/api/tenants", body)).json
        await g.admin("PATCH", "/admin/api/tenants/acme", {"wechat": {"app_secret": "RotatedSecret99"}})
        await g.admin("POST", "/admin/api/tenants", body)  # a conflict
        await g.admin("PATCH", "/admin/api/tenants/acme", {"wechat": {"token": "x"}})  # invalid
        await g.request("GET", "/admin/api/tenants", token=created["api_key"])  # wrong kind of key
        await g.admin("GET", "/admin/api/tenants/acme/checklist")
        await g.admin("POST", "/admin/api/tenants/acme/api-key")
    logged = "\n".join(r.getMessage() + " " + str(r.exc_info or "") for r in caplog.records)
    for secret in _secret_values(body, created) + ["RotatedSecret99"]:
        assert secret not in logged
