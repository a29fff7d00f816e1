"""Issue 14, platform: each attack the adversarial review found, reproduced and refused — text
that is not Unicode in JSON bodies, the JS-SDK endpoint used to hammer WeChat or learn the egress
IP, ops endpoints listing every tenant, weak secrets at start, a world-readable SQLite file, an
old EncodingAESKey kept working after WeChat moved to the new one, one tenant's slow webhook
endpoint holding every delivery slot."""
from __future__ import annotations

import asyncio
import os
import stat
from urllib.parse import quote

import pytest

from gateway.platform.config import SettingsError, ensure_secrets, load_settings
from harness import OPERATOR_TOKEN, Receiver, document, tenant_body, wait_for
from phone import PASSWORD, XSRF, sign_in
from wechat_env import wechat_env
from wechat_push import AES_KEY, AES_KEY2, SpyInbox, WeChat

PUBLIC = "http://127.0.0.1:8080"
SURROGATE = '"\\ud800"'


def raw(fields: str) -> bytes:
    """A JSON object body whose `fields` hold a lone surrogate escape (valid JSON, not text)."""
    return ("{" + fields.replace("@", SURROGATE) + "}").encode()


def assert_invalid(r) -> None:  # type: ignore[no-untyped-def]
    assert r.status == 400, (r.status, r.text)
    assert r.json["error"]["code"] == "invalid"


async def test_a_lone_surrogate_anywhere_in_a_body_is_400_invalid(env):
    async with wechat_env(env, policy={"allow_mobile_registration": True}) as wx:
        key, json_type = wx.keys["acme"], {"Content-Type": "application/json"}
        await wx.put_account("zhang", PASSWORD)
        phone = await sign_in(wx.g, wx.sim, wx.app_id, "acme", key, "zhang", create=False)
        await wx.tenant_api("PUT", "/documents/PO-1", document(["zhang"]))
        cases = [
            ("PUT", "/api/v1/acme/accounts/li", raw('"name": @, "kind": "employee"'), key),
            ("PUT", "/api/v1/acme/accounts/li", raw('"name": "李四", @: 1'), key),  # a key
            ("PUT", "/api/v1/acme/documents/PO-2", (b'{"type": "t", "title": ' + SURROGATE.encode() +
                                                     b', "approvers": ["zhang"]}'), key),
            ("PUT", "/api/v1/acme/documents/PO-3", raw('"title": "ok", "fields": [{"label": "a", "value": @}]'), key),
            ("POST", "/admin/api/tenants", raw('"slug": "evil", "name": @'), OPERATOR_TOKEN),
            ("PATCH", "/admin/api/tenants/acme", raw('"name": @'), OPERATOR_TOKEN),
        ]
        for method, path, body, token in cases:
            assert_invalid(await wx.g.request(method, path, raw=body, token=token, headers=json_type))
        for name, body in (("login", raw('"login": @, "password": "x"')),
                           ("login", raw('"login": "zhang", "password": @')),
                           ("register", raw('"login": "li", "name": @, "password": "Tr0ub4dor&3x!"')),
                           ("password", raw('"old_password": @, "new_password": "N3w-Passw0rd!"')),
                           ("documents/PO-1/decision", raw('"decision": "approve", "comment": @'))):
            assert_invalid(await phone_raw(phone, f"/wx/acme/api/{name}", body))
        assert (await wx.tenant_api("GET", "/accounts/li")).status == 404
        assert (await wx.tenant_api("GET", "/documents/PO-2")).status == 404
        # A surrogate pair is text (an emoji): accepted.
        r = await wx.g.request("PUT", "/api/v1/acme/accounts/li", raw=b'{"name": "\\ud83d\\ude00 Li"}', token=key,
                               headers=json_type)
        assert r.status == 201 and r.json["name"] == "\U0001F600 Li"
        assert (await wx.tenant_api("GET", "/documents/PO-1")).json["recipients"][0]["decision"] is None


async def phone_raw(phone, path: str, body: bytes):  # type: ignore[no-untyped-def]
    """POST raw bytes the way the phone's pages do (its cookies and XSRF token)."""
    headers = phone._headers({"Content-Type": "application/json", "X-XSRFToken": phone.cookies.get("_xsrf", XSRF)})
    return await phone.requester.request("POST", path, raw=body, headers=headers)


async def test_jssdk_failures_are_remembered_per_tenant_and_named_generically(env):
    async with wechat_env(env, ("acme", "beta"), app={"blocked_ip": "203.0.113.7"}) as wx:
        await wx.sim.add_app(wx.app_id, blocked_ip="203.0.113.7")
        await wx.sim.add_app(str(tenant_body("beta")["wechat"]["app_id"]), blocked_ip=None)
        url = quote(f"{PUBLIC}/wx/acme/inbox", safe="")
        tokens_before = wx.count("cgi-bin/token")
        for _ in range(20):  # an anonymous caller hammering the endpoint
            r = await wx.g.request("GET", f"/wx/acme/api/jssdk?url={url}")
            assert r.status == 503 and r.json["error"]["code"] == "unavailable"
            assert "203.0.113.7" not in r.text and "IP" not in r.json["error"]["message"]
            assert 0 < int(r.headers["Retry-After"]) <= 60
        assert wx.count("cgi-bin/token") - tokens_before == 1  # WeChat asked once, not 20 times
        r = await wx.g.request("GET", f"/wx/beta/api/jssdk?url={quote(PUBLIC + '/wx/beta/inbox', safe='')}")
        assert r.status == 200  # another tenant is not affected
        await wx.sim.add_app(wx.app_id, blocked_ip=None)
        wx.advance(30)
        assert (await wx.g.request("GET", f"/wx/acme/api/jssdk?url={url}")).status == 503
        wx.advance(31)
        assert (await wx.g.request("GET", f"/wx/acme/api/jssdk?url={url}")).status == 200


async def test_healthz_has_no_pid_and_ops_details_can_be_restricted(env):
    async with env.gateway() as g:
        await g.create_tenant("secret-co")
        r = await g.request("GET", "/healthz")
        assert r.status == 200 and r.json == {"status": "ok"} and str(os.getpid()) not in r.text
        assert (await g.request("GET", "/healthz", token="op_wrong_" + "x" * 24)).json == {"status": "ok"}
        assert (await g.request("GET", "/healthz", token=OPERATOR_TOKEN)).json["pid"] == os.getpid()
        assert (await g.request("GET", "/metrics")).status == 200  # open by default
        assert "checks" in (await g.request("GET", "/readyz")).json
    async with env.gateway(server={"ops_restricted": True, "ops_scrapers": ["192.0.2.0/24"]}) as g:
        r = await g.request("GET", "/metrics")
        assert r.status == 401 and "secret-co" not in r.text
        r = await g.request("GET", "/metrics", headers={"X-Forwarded-For": "192.0.2.5"})  # not a trusted proxy
        assert r.status == 401
        r = await g.request("GET", "/metrics", token="op_wrong_" + "x" * 24)
        assert r.status == 401
        r = await g.request("GET", "/metrics", token=OPERATOR_TOKEN)
        assert r.status == 200 and "gateway_request_seconds" in r.text
        r = await g.request("GET", "/readyz")
        assert r.status == 200 and r.json == {"status": "ok"}
        r = await g.request("GET", "/readyz", token=OPERATOR_TOKEN)
        assert r.json["checks"] == {"storage": "ok", "cache": "ok"}
    async with env.gateway(server={"ops_restricted": True, "ops_scrapers": ["127.0.0.1"]}) as g:
        assert (await g.request("GET", "/metrics")).status == 200
        assert "checks" in (await g.request("GET", "/readyz")).json


@pytest.mark.parametrize("key, value, message", [
    ("operator_token", "short-token", "operator_token must be at least 32"),
    ("operator_token", "x" * 31, "operator_token must be at least 32"),
    ("session_key", "password123", "session_key must be at least 32"),
    ("master_key", "ab" * 16, "master_key must be 64 hex digits"),
    ("master_key", "zz" * 32, "master_key must be 64 hex digits"),
])
def test_weak_secrets_are_refused_at_start(tmp_path, key, value, message):
    with pytest.raises(SettingsError, match=message) as caught:
        load_settings(env={f"GATEWAY_SECURITY_{key.upper()}": value, "GATEWAY_SERVER_VAR_DIR": str(tmp_path)})
    assert value not in str(caught.value)  # the secret itself is never echoed
    strong = load_settings(env={"GATEWAY_SECURITY_OPERATOR_TOKEN": "x" * 32, "GATEWAY_SECURITY_SESSION_KEY": "y" * 32,
                                "GATEWAY_SERVER_VAR_DIR": str(tmp_path)})
    assert strong.security.operator_token == "x" * 32


def test_a_weak_secret_file_in_var_is_refused(tmp_path):
    var = tmp_path / "var"
    var.mkdir()
    (var / "operator_token").write_text("admin\n")
    with pytest.raises(SettingsError, match="operator_token.*at least 32"):
        ensure_secrets(load_settings(env={"GATEWAY_SERVER_VAR_DIR": str(var)}))


async def test_the_sqlite_file_is_created_0600(env, tmp_path):
    if env.is_mysql:
        pytest.skip("SQLite only")
    old = os.umask(0o022)
    try:
        async with env.gateway() as g:
            await g.create_tenant("acme")
    finally:
        os.umask(old)
    for name in ("gateway.db", "gateway.db-wal", "gateway.db-shm"):
        path = tmp_path / name
        if path.exists():
            assert stat.S_IMODE(path.stat().st_mode) == 0o600, name


async def test_the_previous_aes_key_is_dropped_after_the_first_message_under_the_new_one(env):
    async with env.gateway() as g1:
        wx1 = await WeChat.create(g1, mode="safe", aes_key=AES_KEY)
        async with env.gateway(settings=g1.gw.settings, drop=False) as g2:  # a second process
            wx2 = WeChat(g2, wx1.slug, wx1.token, wx1.app_id, AES_KEY, wx1.original_id, "safe")
            g2.gw.callbacks.inbox = SpyInbox(count=None)
            r = await g1.admin("PATCH", "/admin/api/tenants/acme", {"wechat": {"encoding_aes_key": AES_KEY2}})
            assert r.status == 200
            await wait_for(lambda: g2.gw.registry.require("acme").secrets.encoding_aes_key == AES_KEY2)
            for wx in (wx1, wx2, wx1):  # until WeChat switches, the old key keeps working everywhere
                r = await wx.post(wx.text("todo"), key=AES_KEY)
                assert r.status == 200 and "绑定" in wx.reply(r, key=AES_KEY)["Content"]
            r = await wx1.post(wx1.text("todo"), key=AES_KEY2)  # WeChat now uses the new key
            assert r.status == 200 and "绑定" in wx1.reply(r, key=AES_KEY2)["Content"]
            # At once, in both processes (the second has not even reloaded the tenant yet, maybe):
            for wx in (wx2, wx1):
                assert (await wx.post(wx.text("todo"), key=AES_KEY)).status == 403
                r = await wx.post(wx.text("todo"), key=AES_KEY2)
                assert r.status == 200
            stored = await g1.gw.registry.previous_aes_key_stored("acme")
            assert stored is None
            tenant_id = g1.gw.registry.require("acme").id
            assert await g1.gw.state.get(tenant_id, "aes_key_rotation_finished") is not None
            # A later rotation keeps the now previous key only until the newest one is used.
            third = "Q" * 42 + "A"
            assert (await g1.admin("PATCH", "/admin/api/tenants/acme", {"wechat": {"encoding_aes_key": third}})).status == 200
            await wait_for(lambda: g2.gw.registry.require("acme").secrets.encoding_aes_key == third)
            assert (await wx2.post(wx2.text("todo"), key=AES_KEY2)).status == 200
            assert (await wx2.post(wx2.text("todo"), key=third)).status == 200
            assert (await wx1.post(wx1.text("todo"), key=AES_KEY2)).status == 403


async def test_a_slow_webhook_endpoint_holds_only_its_tenants_share(env):
    async with Receiver(delay=3.0) as slow, Receiver() as fast:
        async with env.gateway(security={"allow_private_webhooks": True}, delivery={"webhooks_per_tenant": 4}) as g:
            await g.create_tenant("slow", webapi_url=slow.url())
            await g.create_tenant("fast", webapi_url=fast.url())
            tenant = g.gw.registry.require("slow")
            decision = {"doc_id": "PO", "login": "a", "decision": "approve", "comment": "", "decided_at": None}
            for _ in range(60):  # more than the 50 deliveries a process has in flight in all
                await g.gw.events.emit(tenant, "document.decision", decision)
            g.gw.delivery.wake_webhooks()
            await wait_for(lambda: len(slow.requests) >= 4)
            started = asyncio.get_running_loop().time()
            await g.gw.events.emit(g.gw.registry.require("fast"), "document.decision", decision)
            g.gw.delivery.wake_webhooks()
            await wait_for(lambda: len(fast.requests) == 1, timeout=10)
            assert asyncio.get_running_loop().time() - started < 1.5  # not behind the slow endpoint
            assert len(slow.requests) == 4  # its share only, while the first four still hang
            await wait_for(lambda: len(slow.requests) >= 8, timeout=10)
            assert len(slow.requests) <= 8
