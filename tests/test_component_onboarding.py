"""Third-party platform mode end to end over HTTP, on both back-end pairs: a company is onboarded
from nothing by 授权接入 in the console (no AppSecret, IP or server settings), its menu is pushed,
a person binds through web sign-in on the account's behalf, a notification goes out with the
authorizer's token, revocation stops every send at once and a new authorization resumes them."""
from __future__ import annotations

import asyncio

from component_env import (COMPONENT_APPID, NEW_APP, NEW_GH, add_account_app, api_key_on, authorize_in_console,
                           checklist_steps, component_env, confirm_on_wechat, operator_console, start_in_console)
from console_client import ConsoleClient
from harness import document, tenant_body, wait_for
from phone import PASSWORD, Phone, put_account


MENU = {"button": [{"type": "view", "name": "待办", "url": "entry:inbox"}]}


async def delivery_of(w, slug: str, api_key: str, doc_id: str) -> str:
    r = await w.g.request("GET", f"/api/v1/{slug}/documents/{doc_id}", token=api_key)
    assert r.status == 200, r.text
    return str(r.json["recipients"][0]["delivery"])


async def test_onboarding_from_nothing_to_first_notification_and_revocation(env):
    async with component_env(env) as w:
        await add_account_app(w, NEW_APP, NEW_GH, name="新公司服务号")
        console = await operator_console(w)
        page = await authorize_in_console(w, console, "newco", NEW_APP, name="新公司")
        assert page.status == 200, page.text
        api_key = api_key_on(page.text)
        tenant = w.g.gw.registry.require("newco")
        assert tenant.mode == "authorized" and tenant.app_id == NEW_APP and tenant.original_id == NEW_GH
        assert tenant.authorization["status"] == "authorized"
        assert tenant.authorization["nick_name"] == "新公司服务号"
        assert tenant.secrets.app_secret == ""  # nothing handed over

        shown = await w.g.admin("GET", "/admin/api/tenants/newco")
        assert shown.json["mode"] == "authorized"
        assert shown.json["urls"]["callback"].endswith(f"/wx/component/{NEW_APP}/callback")
        steps = await checklist_steps(w, "newco")
        assert set(steps) == {"authorization", "permissions", "verified", "templates", "menu", "first_binding"}
        assert steps["authorization"]["ok"] is True and steps["permissions"]["ok"] is True

        r = await w.g.admin("PUT", "/admin/api/tenants/newco/menu", MENU)
        assert r.status == 200, r.text
        assert (await w.sim.menu(NEW_APP))["button"][0]["name"] == "待办"
        assert w.count("cgi-bin/token") == 0  # never the AppSecret route
        assert w.count("cgi-bin/component/api_component_token") == 1

        templates = tenant_body("newco")["templates"]
        r = await w.g.admin("PATCH", "/admin/api/tenants/newco", {"templates": templates})
        assert r.status == 200, r.text
        # The AppID is the authorized account's: a PATCH cannot point the tenant at another one.
        r = await w.g.admin("PATCH", "/admin/api/tenants/newco", {"wechat": {"app_id": "wx0000000000000bad"}})
        assert r.status == 400 and "wechat.app_id" in str(r.json["error"]["details"]["problems"]), r.text
        assert w.g.gw.registry.require("newco").app_id == NEW_APP
        await put_account(w.g, "newco", api_key, "li", name="李四")
        phone = Phone(w.g, "newco", sim=w.sim, app_id=NEW_APP)
        entry = await phone.get("/wx/newco/entry?next=inbox")
        assert "component_appid=" + COMPONENT_APPID in entry.headers["Location"]
        r = await phone.sign_in("li", PASSWORD, "o_li_newco")
        assert r.status == 200, r.text
        assert w.count("sns/oauth2/component/access_token") == 1 and w.count("sns/oauth2/access_token") == 0

        r = await w.g.request("PUT", "/api/v1/newco/documents/D1", document(["li"]), token=api_key)
        assert r.status == 201 and r.json["notifications"][0]["status"] == "queued", r.text
        await wait_for(lambda: w.sim.sent(NEW_APP), timeout=20)
        assert await delivery_of(w, "newco", api_key, "D1") in ("sent", "delivered")
        sent = await w.sim.sent(NEW_APP)
        assert len(sent) == 1 and sent[0]["touser"] == "o_li_newco"
        steps = await checklist_steps(w, "newco")
        assert steps["menu"]["ok"] is True and steps["first_binding"]["ok"] is True

        revoked = await w.sim.component_revoke(NEW_APP)
        assert revoked["status"] == 200 and revoked["body"] == "success"
        tenant = w.g.gw.registry.require("newco")
        assert tenant.suspended and tenant.authorization["status"] == "revoked"
        r = await w.g.request("PUT", "/api/v1/newco/documents/D2", document(["li"]), token=api_key)
        assert r.status == 201, r.text
        page = await console.get("/console/t/newco/")
        assert 'id="suspended"' in page.text
        listing = await console.get("/console/")
        assert 'data-mode="revoked"' in listing.text and "已解除授权，提醒暂停" in listing.text
        steps = await checklist_steps(w, "newco")
        assert steps["authorization"]["ok"] is False and "解除" in steps["authorization"]["detail"]
        await asyncio.sleep(1.5)
        assert len(await w.sim.sent(NEW_APP)) == 1  # held, not sent
        assert await delivery_of(w, "newco", api_key, "D2") == "queued"

        again = await w.sim.component_authorize(NEW_APP)
        assert again["push"]["status"] == 200 and again["push"]["body"] == "success"
        assert not w.g.gw.registry.require("newco").suspended
        async def resumed() -> bool:
            return len(await w.sim.sent(NEW_APP)) == 2
        await wait_for(resumed, timeout=20)
        assert await delivery_of(w, "newco", api_key, "D2") in ("sent", "delivered")


async def test_a_direct_tenant_moves_to_authorized_mode_keeping_its_people(env):
    async with component_env(env, slugs=("acme",)) as w:
        api_key = w.keys["acme"]
        await put_account(w.g, "acme", api_key, "zhang", name="张三")
        phone = Phone(w.g, "acme", sim=w.sim, app_id=w.app_id)
        assert (await phone.sign_in("zhang", PASSWORD, "o_zhang")).status == 200
        r = await w.g.request("PUT", "/api/v1/acme/documents/K1", document(["zhang"]), token=api_key)
        assert r.status == 201

        console = await operator_console(w)
        # Another company's administrator scanning for acme is refused, nothing changes.
        await add_account_app(w, NEW_APP, NEW_GH)
        wrong = await authorize_in_console(w, console, "acme", NEW_APP)
        assert wrong.status == 400 and "不是租户 acme 的公众号" in wrong.text
        assert w.g.gw.registry.require("acme").mode == "direct"

        moved = await authorize_in_console(w, console, "acme", w.app_id)
        assert moved.status == 302 and moved.headers["Location"] == "/console/t/acme/?authorized=1", moved.text
        tenant = w.g.gw.registry.require("acme")
        assert tenant.mode == "authorized" and tenant.authorization["status"] == "authorized"
        bindings = await w.db_bindings()
        assert [b["openid"] for b in bindings if b["ended_at"] is None] == ["o_zhang"]
        r = await w.g.request("GET", "/api/v1/acme/documents/K1", token=api_key)
        assert r.status == 200 and r.json["recipients"][0]["login"] == "zhang"
        # The old URL no longer takes messages; the platform's does, under the platform's keys.
        direct = await w.sim.push_text(w.app_id, "o_zhang", "待办", url=f"{w.g.base_url}/wx/acme/callback")
        assert direct["status"] == 403
        via = await w.sim.push_text(w.app_id, "o_zhang", "待办")
        assert via["status"] == 200 and via["reply_valid"] and via["reply_encrypted"], via
        assert "/wx/component/" in via["request"]["url"]


async def test_authorization_links_and_refusals(env):
    async with component_env(env, ticket=False) as w:
        console = await operator_console(w)
        page = await console.post("/console/component", {"slug": "newco", "name": "新公司"})
        assert page.status == 502 and "component_verify_ticket" in page.text  # no ticket yet: said plainly
        assert (await w.sim.push_component_ticket())["body"] == "success"
        bad = await console.post("/console/component", {"slug": "Bad Slug", "name": "x"})
        assert bad.status == 400 and 'id="error-slug"' in bad.text
        link = await start_in_console(console, "newco", "新公司")
        assert link.startswith(f"{w.sim_url}/cgi-bin/componentloginpage?component_appid={COMPONENT_APPID}")
        assert "pre_auth_code=preauthcode%40%40%40" in link and "auth_type=1" in link
        # A forged or replayed redirect creates nothing.
        forged = await console.get("/console/component/return?state=" + "0" * 32 + "&auth_code=x")
        assert forged.status == 400 and w.g.gw.registry.get("newco") is None
        await add_account_app(w, NEW_APP, NEW_GH)
        back = await confirm_on_wechat(link, NEW_APP, funcs=(1, 2, 3, 7, 15))
        first = await console.get(back)
        assert first.status == 200
        replay = await console.get(back)
        assert replay.status == 400 and "已过期" in replay.text
        steps = await checklist_steps(w, "newco")
        assert steps["permissions"]["ok"] is False and "网页服务" in steps["permissions"]["detail"]
        # Another console session cannot finish an authorization this one started.
        other = await operator_console(w)
        link = await start_in_console(console, "third", "第三家")
        await add_account_app(w, "wx7468697264303031", "gh_746869726430")
        stolen = await other.get(await confirm_on_wechat(link, "wx7468697264303031"))
        assert stolen.status == 400 and w.g.gw.registry.get("third") is None
        # Without the operator's session nothing starts.
        stranger = ConsoleClient(w.g)
        r = await stranger.get("/console/component")
        assert r.status == 302 and r.headers["Location"].startswith("/console/login")
