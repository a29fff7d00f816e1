"""The phone pages over plain HTTP: sign-in redirects, security headers, the XSRF cookie,
404 pages, escaping, and nothing loaded from another origin."""
from __future__ import annotations

import re
from urllib.parse import quote

from harness import document
from phone import sign_in
from wechat_env import Simulator

EXTERNAL = re.compile(r"""(?:https?:)?//[a-z0-9.-]+\.[a-z]{2,}""", re.I)
PAGES = ("login", "register", "login?next=doc/PO-1")


def assert_page_headers(response: object) -> None:
    headers = response.headers  # type: ignore[attr-defined]
    assert headers["Content-Type"].startswith("text/html")
    csp = headers["Content-Security-Policy"]
    assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Cache-Control"] == "no-store"


async def test_session_pages_redirect_to_entry_without_session(env):
    async with env.gateway() as g:
        await g.create_tenant("acme")
        for path, next_page in (("inbox", "inbox"), ("password", "password"), ("doc/PO-2026-1", "doc/PO-2026-1")):
            r = await g.request("GET", f"/wx/acme/{path}")
            assert r.status == 302, path
            assert r.headers["Location"] == f"/wx/acme/entry?next={next_page}"
        # A forged or foreign session cookie is no session either.
        r = await g.request("GET", "/wx/acme/inbox", headers={"Cookie": "gw_session=eyJhbGciOiJIUzI1NiJ9.e30.x"})
        assert r.status == 302 and r.headers["Location"] == "/wx/acme/entry?next=inbox"


async def test_public_pages_set_xsrf_cookie_and_security_headers(env):
    async with env.gateway() as g:
        await g.create_tenant("acme", policy={"allow_mobile_registration": True})
        for path in PAGES:
            r = await g.request("GET", f"/wx/acme/{path}")
            assert r.status == 200, path
            assert_page_headers(r)
            cookies = r.headers.get_list("Set-Cookie")
            xsrf = [c for c in cookies if c.startswith("_xsrf=")]
            assert xsrf and "SameSite=Lax" in xsrf[0] and "HttpOnly" not in xsrf[0]
            assert 'lang="zh-CN"' in r.text and 'name="viewport"' in r.text
            assert "/static/app.js" in r.text and "/static/app.css" in r.text


async def test_unknown_tenant_gets_a_404_page(env):
    async with env.gateway() as g:
        await g.create_tenant("acme")
        for path in ("login", "inbox", "password", "register", "doc/PO-1"):
            r = await g.request("GET", f"/wx/nobody/{path}")
            assert r.status == 404, path
            assert r.headers["Content-Type"].startswith("text/html")
            assert "页面不存在" in r.text
            assert "Content-Security-Policy" in r.headers
            assert "Traceback" not in r.text


async def test_no_external_urls_in_pages_or_assets(env):
    async with env.gateway() as g:
        await g.create_tenant("acme", policy={"allow_mobile_registration": True})
        bodies = [(await g.request("GET", f"/wx/acme/{path}")).text for path in PAGES]
        bodies.append((await g.request("GET", "/wx/nobody/login")).text)
        for asset in ("app.js", "account.js", "docs.js", "app.css"):
            r = await g.request("GET", f"/static/{asset}")
            assert r.status == 200, asset
            bodies.append(r.text)
        for body in bodies:
            assert not EXTERNAL.findall(body), EXTERNAL.findall(body)
            assert "http://" not in body and "https://" not in body
            # No inline script: the CSP (script-src from default-src 'self') would block it anyway.
            assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", body)
            assert not re.search(r"\son[a-z]+=", body)


async def test_values_are_escaped_and_next_is_confined(env):
    async with env.gateway() as g:
        await g.create_tenant("acme", name="<b>Acme</b> & 子公司", policy={"allow_mobile_registration": True})
        r = await g.request("GET", "/wx/acme/login?next=doc/PO-1")
        assert "&lt;b&gt;Acme&lt;/b&gt; &amp; 子公司" in r.text and "<b>Acme</b>" not in r.text
        assert 'data-next="doc/PO-1"' in r.text
        assert 'href="/wx/acme/register?next=doc%2FPO-1"' in r.text
        for hostile in ("https://evil.example/", "//evil.example", "/wx/other/inbox", "javascript:alert(1)",
                        "../admin", "register"):
            r = await g.request("GET", "/wx/acme/login?next=" + quote(hostile, safe=""))
            assert r.status == 200
            assert 'data-next="inbox"' in r.text, hostile
        r = await g.request("GET", "/wx/acme/login?next=" + quote('doc/x"><script>', safe=""))
        assert 'data-next="doc/x&quot;&gt;&lt;script&gt;"' in r.text and '"><script>' not in r.text


async def test_register_page_follows_the_tenant_policy(env):
    async with env.gateway() as g:
        await g.create_tenant("acme")
        closed = await g.request("GET", "/wx/acme/register")
        assert closed.status == 200
        assert "暂未开放自助注册" in closed.text and "register-form" not in closed.text
        login = await g.request("GET", "/wx/acme/login")
        assert "申请注册" not in login.text
        r = await g.admin("PATCH", "/admin/api/tenants/acme", {"policy": {"allow_mobile_registration": True}})
        assert r.status == 200
        opened = await g.request("GET", "/wx/acme/register")
        assert 'id="register-form"' in opened.text
        assert "申请注册" in (await g.request("GET", "/wx/acme/login")).text


async def test_pages_with_a_session_render(env):
    async with Simulator() as sim:
        async with env.gateway(wechat=sim.wechat()) as g:
            created = await g.create_tenant("acme")
            app_id = await sim.add_tenant_app("acme")
            phone = await sign_in(g, sim.client, app_id, "acme", created["api_key"], "zhangsan")
            await g.request("PUT", "/api/v1/acme/documents/PO-1", document(["zhangsan"]), token=created["api_key"])
            for path, page in (("inbox", "inbox"), ("password", "password"), ("doc/PO-1", "doc")):
                r = await phone.request("GET", f"/wx/acme/{path}")
                assert r.status == 200, (path, r.status, r.headers.get("Location"))
                assert_page_headers(r)
                assert f'data-page="{page}"' in r.text
            r = await phone.request("GET", "/wx/acme/doc/PO-1")
            assert 'data-doc-id="PO-1"' in r.text and 'data-login="zhangsan"' in r.text
            # A session of tenant acme is worth nothing at tenant beta.
            await g.create_tenant("beta")
            r = await phone.request("GET", "/wx/beta/inbox")
            assert r.status == 302 and r.headers["Location"] == "/wx/beta/entry?next=inbox"
            # Logging out ends the session: the pages send the phone to sign in again.
            assert (await phone.request("POST", "/wx/acme/api/logout", {})).status == 200
            r = await phone.request("GET", "/wx/acme/inbox")
            assert r.status == 302 and r.headers["Location"] == "/wx/acme/entry?next=inbox"


async def test_pending_password_change_sends_every_page_to_the_password_form(env):
    async with Simulator() as sim:
        async with env.gateway(wechat=sim.wechat()) as g:
            created = await g.create_tenant("acme", policy={"first_login_change_password": True})
            app_id = await sim.add_tenant_app("acme")
            phone = await sign_in(g, sim.client, app_id, "acme", created["api_key"], "zhangsan")
            for path in ("inbox", "doc/PO-1"):
                r = await phone.request("GET", f"/wx/acme/{path}")
                assert r.status == 302 and r.headers["Location"] == "/wx/acme/password", path
            r = await phone.request("GET", "/wx/acme/password")
            assert r.status == 200
            assert "请修改初始密码" in r.text and "返回待办" not in r.text
