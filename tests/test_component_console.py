"""授权接入 beyond the happy path: a tenant administrator moves their own tenant (and nobody else's),
the page in English, an unverified or subscription account and a refused platform IP said in plain
words, every existing WeChat call (JS-SDK, scan-to-bind QR codes) working with the authorizer's
token, the platform message URL's GET check, and a revocation reaching a second process."""
from __future__ import annotations

import os

import pytest

from component_env import (NEW_APP, NEW_GH, add_account_app, api_key_on, authorize_in_console, checklist_steps,
                           component_env, operator_console)
from console_client import ConsoleClient
from harness import wait_for
from phone import put_account
from wechat_env import app_id_of
from gateway.wechat.crypto import sha1_signature


async def test_a_tenant_administrator_moves_only_their_own_tenant(env):
    async with component_env(env, slugs=("acme", "beta")) as w:
        operator = await operator_console(w)
        password = await operator.create_admin("acme", "boss")
        admin = ConsoleClient(w.g)
        await admin.sign_in_admin("acme", "boss", password)
        page = await admin.get("/console/component")
        assert page.status == 200 and 'id="nav-component"' in page.text and "acme" in page.text
        assert 'name="slug"' not in page.text  # their own tenant, nothing to choose
        # An authorization started by acme's administrator for acme, confirmed by beta's account: refused.
        wrong = await authorize_in_console(w, admin, "beta", app_id_of("beta"))
        assert wrong.status == 400 and w.g.gw.registry.require("beta").mode == "direct"
        moved = await authorize_in_console(w, admin, "ignored", w.app_id)
        assert moved.status == 302 and moved.headers["Location"] == "/console/t/acme/?authorized=1"
        assert w.g.gw.registry.require("acme").mode == "authorized"
        assert w.g.gw.registry.require("beta").mode == "direct"
        english = await operator.get("/console/lang?to=en&next=/console/component")
        assert english.status == 302
        page = await operator.get("/console/component")
        assert "Connect by authorization" in page.text and "Create the authorization link" in page.text


async def test_unverified_and_subscription_accounts_and_missing_permissions_are_named(env):
    async with component_env(env) as w:
        await add_account_app(w, NEW_APP, NEW_GH, verify_type=-1)
        console = await operator_console(w)
        r = await authorize_in_console(w, console, "newco", NEW_APP, name="新公司", funcs=(1, 2, 3, 4, 11, 15))
        assert r.status == 200
        steps = await checklist_steps(w, "newco")
        assert steps["verified"]["ok"] is False and "尚未微信认证" in steps["verified"]["detail"]
        assert steps["permissions"]["ok"] is False and "群发与通知" in steps["permissions"]["detail"]
        page = await console.get("/console/t/newco/")
        assert "尚未微信认证" in page.text and "群发与通知" in page.text
        assert 'id="authorized-account"' in page.text and "未认证" in page.text
        await add_account_app(w, "wx73756273303030ab", "gh_737562730001", service_type=0)
        r = await authorize_in_console(w, console, "subco", "wx73756273303030ab", name="订阅号公司")
        steps = await checklist_steps(w, "subco")
        assert steps["verified"]["ok"] is False and "订阅号" in steps["verified"]["detail"]


async def test_a_refused_platform_ip_is_said_in_plain_words(env):
    async with component_env(env) as w:
        await add_account_app(w, NEW_APP, NEW_GH)
        console = await operator_console(w)
        assert (await authorize_in_console(w, console, "newco", NEW_APP, name="新公司")).status == 200
        await w.sim.configure_component(blocked_ip="203.0.113.9")
        w.state.component.tokens.clear()
        page = await console.post("/console/component", {"slug": "other", "name": "别家"})
        assert page.status == 502 and "白名单" in page.text
        steps = await checklist_steps(w, "newco")
        assert steps["authorization"]["ok"] is False and "203.0.113.9" in steps["authorization"]["detail"]


async def test_jssdk_and_bind_qr_work_with_the_authorizers_token_and_the_get_check(env):
    async with component_env(env) as w:
        await add_account_app(w, NEW_APP, NEW_GH)
        console = await operator_console(w)
        page = await authorize_in_console(w, console, "newco", NEW_APP, name="新公司")
        api_key = api_key_on(page.text)
        url = f"{w.g.base_url}/wx/newco/inbox"
        r = await w.g.request("GET", f"/wx/newco/api/jssdk?url={url}")
        assert r.status == 200 and r.json["appId"] == NEW_APP, r.text
        await put_account(w.g, "newco", api_key, "li")
        r = await w.g.request("POST", "/api/v1/newco/accounts/li/bind-qr", token=api_key)
        assert r.status == 201 and r.json["status"] == "waiting", r.text
        assert w.count("cgi-bin/token") == 0
        ts, nonce = str(int(w.state.now())), "12345"
        signature = sha1_signature("platformToken", ts, nonce)
        path = f"/wx/component/{NEW_APP}/callback?signature={signature}&timestamp={ts}&nonce={nonce}&echostr=hi"
        r = await w.g.request("GET", path)
        assert r.status == 200 and r.text == "hi"
        r = await w.g.request("GET", path.replace(signature, "0" * 40))
        assert r.status == 403
        r = await w.g.request("GET", "/wx/component/wx0000000000000000/callback?echostr=hi")
        assert r.status == 404


@pytest.mark.skipif(os.environ.get("GATEWAY_TEST_BACKEND") != "mysql", reason="two processes need MariaDB and Redis")
async def test_a_revocation_reaches_every_process(env):
    async with component_env(env) as w:
        await add_account_app(w, NEW_APP, NEW_GH)
        console = await operator_console(w)
        assert (await authorize_in_console(w, console, "newco", NEW_APP, name="新公司")).status == 200
        async with env.gateway(settings=w.g.gw.settings, drop=False) as g2:
            assert not g2.gw.registry.require("newco").suspended
            await w.sim.component_revoke(NEW_APP)
            await wait_for(lambda: g2.gw.registry.require("newco").suspended, timeout=10)
            await w.sim.component_authorize(NEW_APP)
            await wait_for(lambda: not g2.gw.registry.require("newco").suspended, timeout=10)


async def test_updateauthorized_changes_the_granted_permissions(env):
    async with component_env(env) as w:
        await add_account_app(w, NEW_APP, NEW_GH)
        console = await operator_console(w)
        assert (await authorize_in_console(w, console, "newco", NEW_APP, name="新公司")).status == 200
        assert w.g.gw.registry.require("newco").authorization["func_info"] == [1, 2, 3, 4, 7, 11, 15]
        pushed = await w.sim.component_authorize(NEW_APP, [1, 3, 15])
        assert pushed["push"]["fields"]["InfoType"] == "updateauthorized" and pushed["push"]["body"] == "success"
        assert w.g.gw.registry.require("newco").authorization["func_info"] == [1, 3, 15]
        steps = await checklist_steps(w, "newco")
        assert steps["permissions"]["ok"] is False
        assert "网页服务" in steps["permissions"]["detail"] and "群发与通知" in steps["permissions"]["detail"]
        audit = [e["action"] for e in (await w.g.admin("GET", "/admin/api/tenants/newco/audit")).json["items"]]
        assert audit.count("component.authorized") == 2


@pytest.mark.skipif(os.environ.get("GATEWAY_TEST_BACKEND") != "mysql", reason="two processes need MariaDB and Redis")
async def test_the_push_on_one_process_and_the_redirect_on_another_share_one_code_exchange(env):
    async with component_env(env) as w:  # WeChat pushes to w.g; the administrator's browser talks to g2
        await add_account_app(w, NEW_APP, NEW_GH)
        async with env.gateway(settings=w.g.gw.settings, drop=False) as g2:
            g2.gw.component.onboarding.use_pages(w.sim_url, w.sim_url)
            console = ConsoleClient(g2)
            await console.sign_in_operator()
            page = await authorize_in_console(w, console, "newco", NEW_APP, name="新公司")
            assert page.status == 200, page.text
            assert w.count("cgi-bin/component/api_query_auth") == 1  # the code is single use
            await wait_for(lambda: w.g.gw.registry.get("newco"), timeout=10)
            assert w.g.gw.registry.require("newco").mode == "authorized"
