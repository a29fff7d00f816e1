"""The platform side of third-party platform mode: [component] settings, the authorization-event
URL (tickets kept, forged pushes refused), the component token centre's guarantees (one fetch for
two processes, a refused token replaced once, the rotated refresh token saved sealed), messages for
authorized accounts through the platform URL, and WeChat's full-network release test."""
from __future__ import annotations

import asyncio
import os
import stat

import pytest

from component_env import (NEW_APP, NEW_GH, PLATFORM, add_account_app, authorize_in_console, component_env,
                           operator_console)
from gateway.cache import CacheError
from gateway.platform.config import SettingsError, ensure_secrets, load_settings
from harness import wait_for

TEST_APP, TEST_GH = "wx570bc396a51b8ff8", "gh_3c884a361561"


async def onboard(w) -> None:
    """newco connected by authorization (NEW_APP)."""
    await add_account_app(w, NEW_APP, NEW_GH)
    console = await operator_console(w)
    assert (await authorize_in_console(w, console, "newco", NEW_APP, name="新公司")).status == 200


def test_settings_generate_the_platform_token_and_key_once(tmp_path):
    env = {"GATEWAY_COMPONENT_APP_ID": PLATFORM["app_id"], "GATEWAY_COMPONENT_APP_SECRET": "given1secret"}
    settings = ensure_secrets(load_settings(env=env, overrides={"server": {"var_dir": str(tmp_path)}}))
    comp = settings.component
    assert comp.enabled and comp.app_secret == "given1secret"
    assert comp.token.isalnum() and 3 <= len(comp.token) <= 32
    assert comp.encoding_aes_key.isalnum() and len(comp.encoding_aes_key) == 43
    for name in ("component_token", "component_aes_key"):
        assert stat.S_IMODE(os.stat(tmp_path / name).st_mode) == 0o600
    again = ensure_secrets(load_settings(env=env, overrides={"server": {"var_dir": str(tmp_path)}})).component
    assert (again.token, again.encoding_aes_key) == (comp.token, comp.encoding_aes_key)
    assert "given1secret" not in repr(settings) and comp.token not in repr(settings)
    off = ensure_secrets(load_settings(env={}, overrides={"server": {"var_dir": str(tmp_path / "off")}}))
    assert not off.component.enabled and not (tmp_path / "off" / "component_token").exists()
    with pytest.raises(SettingsError, match="app_id"):
        load_settings(env={"GATEWAY_COMPONENT_APP_ID": "nope", "GATEWAY_COMPONENT_APP_SECRET": "x1"})
    with pytest.raises(SettingsError, match="app_secret"):
        load_settings(env={"GATEWAY_COMPONENT_APP_ID": PLATFORM["app_id"]})
    with pytest.raises(SettingsError, match="encoding_aes_key"):
        load_settings(env={**env, "GATEWAY_COMPONENT_ENCODING_AES_KEY": "short"})


async def test_tickets_are_kept_latest_first_and_expire_after_12_hours(env):
    async with component_env(env) as w:
        tickets = w.g.gw.component.tickets
        first = list(w.state.component.tickets)[-1]
        assert await tickets.latest() == first
        second = (await w.sim.push_component_ticket())["ticket"]
        assert await tickets.latest() == second
        sealed = await w.g.gw.storage.fetchone("SELECT sealed FROM component_tickets")
        assert second.encode() not in bytes(sealed["sealed"])
        w.g.gw.clock.advance(12 * 3600 + 60)
        assert await tickets.latest() is None


async def test_forged_or_plain_platform_pushes_are_refused(env):
    async with component_env(env) as w:
        sim = w.state.component
        url = f"{w.g.base_url}/wx/component/events"
        good = sim._platform_push(url, {"AppId": PLATFORM["app_id"], "CreateTime": int(w.state.now()) + 1,
                                        "InfoType": "component_verify_ticket",
                                        "ComponentVerifyTicket": "ticket@@@forged"})
        forged = {**good.query, "signature": "0" * 40}
        r = await w.sim.push_raw(url, forged, good.body.decode())
        assert r["status"] == 403
        plain = {k: v for k, v in good.query.items() if k not in ("encrypt_type", "msg_signature")}
        r = await w.sim.push_raw(url, plain, "<xml><AppId>x</AppId><InfoType>component_verify_ticket</InfoType></xml>")
        assert r["status"] == 403
        tampered = {**good.query, "msg_signature": "1" * 40}
        assert (await w.sim.push_raw(url, tampered, good.body.decode()))["status"] == 403
        r = await w.sim.push_raw(url, good.query, good.body.decode())  # the genuine one
        assert r["status"] == 200 and r["body"] == "success"
        assert await w.g.gw.component.tickets.latest() == "ticket@@@forged"
        r = await w.g.request("POST", "/wx/component/events", raw=b"<xml>" + b"x" * 70000 + b"</xml>")
        assert r.status == 413
        status = await w.g.admin("GET", "/admin/api/component")
        assert status.status == 200 and status.json["enabled"] and status.json["ticket_valid"]
        assert status.json["urls"]["events"] == url and status.json["ticket_received_at"].endswith("+00:00")
        assert PLATFORM["app_secret"] not in status.text and PLATFORM["token"] not in status.text
        assert (await w.g.request("GET", "/admin/api/component")).status == 401
    async with env.gateway() as g:  # no [component]: the URLs do not exist
        r = await g.request("POST", "/wx/component/events", raw=b"<xml/>")
        assert r.status == 404
        status = await g.admin("GET", "/admin/api/component")
        assert status.status == 200 and status.json == {"enabled": False}


async def test_one_authorizer_token_fetch_for_two_processes(env):
    if not env.is_mysql:
        pytest.skip("two processes share tokens through Redis (memory:// is one process's)")
    async with component_env(env) as w:
        await onboard(w)
        async with env.gateway(settings=w.g.gw.settings, drop=False) as g2:
            tenant_a, tenant_b = w.g.gw.registry.require("newco"), g2.gw.registry.require("newco")
            tokens = await asyncio.gather(*[w.g.gw.tokens.access_token(tenant_a) for _ in range(10)],
                                          *[g2.gw.tokens.access_token(tenant_b) for _ in range(10)])
            assert len(set(tokens)) == 1
            assert w.count("cgi-bin/component/api_authorizer_token") == 1
            assert w.count("cgi-bin/token") == 0


async def test_refused_component_token_is_replaced_once_and_refresh_tokens_rotate_sealed(env):
    async with component_env(env) as w:
        await onboard(w)
        gw = w.g.gw
        tenant = gw.registry.require("newco")
        before = w.count("cgi-bin/component/api_component_token")
        w.state.component.tokens.clear()  # WeChat no longer knows the cached component token
        token = await gw.tokens.access_token(tenant)
        assert w.count("cgi-bin/component/api_component_token") == before + 1
        grant = w.state.component.grants[NEW_APP]
        assert await gw.component.authorizers.refresh_token(NEW_APP) == grant.refresh_token  # the rotated one
        row = await gw.storage.fetchone("SELECT refresh_sealed FROM component_authorizers")
        assert grant.refresh_token.encode() not in bytes(row["refresh_sealed"])
        await gw.tokens.invalidate(tenant, token)
        assert await gw.tokens.access_token(tenant) != token  # the saved refresh token works
        # the refused component token's call, its retry with a new one, and the call after invalidate
        assert w.count("cgi-bin/component/api_authorizer_token") == 3


async def test_messages_for_an_authorized_account_use_the_platform_keys_and_dedupe(env):
    async with component_env(env) as w:
        await onboard(w)
        await w.sim.add_user(NEW_APP, "o_user")
        first = await w.sim.push_text(NEW_APP, "o_user", "待办", msg_id=77)
        assert first["status"] == 200 and first["reply_valid"] and first["reply_encrypted"], first
        assert first["request"]["url"].endswith(f"/wx/component/{NEW_APP}/callback")
        again = await w.sim.push_text(NEW_APP, "o_user", "待办", msg_id=77)
        assert again["reply"]["Content"] == first["reply"]["Content"]
        # A message addressed to another account, replayed to this account's URL: refused.
        await add_account_app(w, "wx6f74686572303031", "gh_6f746865723031")
        await w.sim.component_authorize("wx6f74686572303031")
        other = await w.sim.push_text("wx6f74686572303031", "o_x", "待办",
                                      url=f"{w.g.base_url}/wx/component/{NEW_APP}/callback")
        assert other["status"] == 403
        # Not connected to a tenant: checked and acknowledged.
        loose = await w.sim.push_text("wx6f74686572303031", "o_x", "hello")
        assert loose["status"] == 200 and loose["body"] == "success"


async def test_full_network_release_test_accounts_get_the_answers_wechat_expects(env):
    async with component_env(env) as w:
        await add_account_app(w, TEST_APP, TEST_GH, name="全网发布测试号")
        await w.sim.add_user(TEST_APP, "ozy4qt1eDxSxzCr0aNT0mXCWfrDE")
        code = (await w.sim.component_authorize(TEST_APP))["auth_code"]
        text = await w.sim.push_text(TEST_APP, "ozy4qt1eDxSxzCr0aNT0mXCWfrDE", "TESTCOMPONENT_MSG_TYPE_TEXT")
        assert text["status"] == 200 and text["reply_valid"] and text["reply_encrypted"], text
        assert text["reply"]["Content"] == "TESTCOMPONENT_MSG_TYPE_TEXT_callback"
        assert text["reply"]["FromUserName"] == TEST_GH
        api = await w.sim.push_text(TEST_APP, "ozy4qt1eDxSxzCr0aNT0mXCWfrDE", f"QUERY_AUTH_CODE:{code}")
        assert api["status"] == 200 and api["body"] == ""
        sent = await wait_for(lambda: w.sim.custom_sent(), timeout=10)
        assert sent[0]["touser"] == "ozy4qt1eDxSxzCr0aNT0mXCWfrDE" and sent[0]["app_id"] == TEST_APP
        assert sent[0]["text"]["content"] == f"{code}_from_api"
        event = await w.sim.push_event(TEST_APP, "ozy4qt1eDxSxzCr0aNT0mXCWfrDE", "LOCATION")
        assert event["reply"]["Content"] == "LOCATIONfrom_callback"


async def test_the_component_token_is_refreshed_before_it_expires(env):
    async with component_env(env) as w:
        await onboard(w)
        tokens = w.g.gw.component.tokens
        current = await tokens.component_token()
        fetched = w.count("cgi-bin/component/api_component_token")
        assert not await tokens.refresh_due()  # two hours left: nothing to do
        w.advance(7200 - 500)
        assert await tokens.refresh_due()
        assert w.count("cgi-bin/component/api_component_token") == fetched + 1
        assert await tokens.component_token() != current


async def test_with_the_cache_down_tokens_come_through_the_storage_lease(env):
    async with component_env(env) as w:
        await onboard(w)
        gw = w.g.gw
        tenant = gw.registry.require("newco")
        first = await gw.tokens.access_token(tenant)

        async def down(*args, **kwargs):
            raise CacheError("cache down")
        for name in ("get", "set", "set_if_absent", "acquire", "delete_if_equals", "incr", "delete"):
            setattr(gw.cache, name, down)
        component_fetches = w.count("cgi-bin/component/api_component_token")
        authorizer_fetches = w.count("cgi-bin/component/api_authorizer_token")
        w.advance(7300)  # both tokens expired: one fetch each, under the vault's lease
        tokens = await asyncio.gather(*(gw.tokens.access_token(tenant) for _ in range(10)))
        assert len(set(tokens)) == 1 and tokens[0] != first
        assert w.count("cgi-bin/component/api_component_token") == component_fetches + 1
        assert w.count("cgi-bin/component/api_authorizer_token") == authorizer_fetches + 1
