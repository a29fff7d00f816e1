"""JS-SDK signatures: verified against the ticket the simulator issued, fragment stripped, only for
the tenant's own pages, no session needed."""
from __future__ import annotations

from urllib.parse import quote

from gateway.wechat.crypto import jssdk_signature
from wechat_env import register_app, wechat_env

PUBLIC = "http://127.0.0.1:8080"


async def sign(w, url: str):  # type: ignore[no-untyped-def]
    return await w.g.request("GET", f"/wx/acme/api/jssdk?url={quote(url, safe='')}")


async def test_signature_matches_the_issued_ticket_without_fragment(env):
    async with wechat_env(env) as w:
        page = f"{PUBLIC}/wx/acme/doc/42?from=menu&x=%E4%B8%AD"
        r = await sign(w, page + "#section-2")
        assert r.status == 200, r.text
        body = r.json
        assert set(body) == {"appId", "timestamp", "nonceStr", "signature"}
        assert body["appId"] == w.app_id
        ticket = w.ticket_issued()
        assert body["signature"] == jssdk_signature(ticket, body["nonceStr"], body["timestamp"], page)
        assert "no-store" in r.headers["Cache-Control"]

        again = (await sign(w, page)).json
        assert again["signature"] == jssdk_signature(ticket, again["nonceStr"], again["timestamp"], page)
        assert w.count("cgi-bin/ticket/getticket") == 1 and w.count("cgi-bin/token") == 1


async def test_only_the_tenants_own_pages_are_signed(env):
    async with wechat_env(env) as w:
        await register_app(w.sim, "beta")
        await w.g.create_tenant("beta")
        refused = ["https://evil.example/wx/acme/inbox", f"{PUBLIC}/wx/beta/inbox", f"{PUBLIC}/wx/acme",
                   f"{PUBLIC}/wx/acme-evil/inbox", f"{PUBLIC}/wx/acme/../beta/inbox",
                   f"{PUBLIC}/wx/acme/%2e%2e/beta/inbox", f"{PUBLIC}.evil.example/wx/acme/inbox",
                   f"{PUBLIC}@evil.example/wx/acme/", "", f"{PUBLIC}/wx/acme/in box"]
        for url in refused:
            r = await sign(w, url)
            assert r.status == 400, url
            assert r.json["error"]["code"] == "invalid"
        r = await w.g.request("GET", "/wx/acme/api/jssdk")
        assert r.status == 400
        assert w.count("cgi-bin/ticket/getticket") == 0
        r = await w.g.request("GET", f"/wx/beta/api/jssdk?url={quote(PUBLIC + '/wx/beta/inbox', safe='')}")
        assert r.status == 200 and r.json["appId"] != w.app_id
        assert (await w.g.request("GET", "/wx/nobody/api/jssdk?url=x")).status == 404


async def test_ticket_unavailable_is_503(env):
    async with wechat_env(env) as w:
        await w.sim.inject_fault("cgi-bin/ticket/getticket", -1, count=3)
        r = await sign(w, f"{PUBLIC}/wx/acme/inbox")
        assert r.status == 503 and r.json["error"]["code"] == "unavailable"
        w.advance(61)  # a failure is remembered for a minute (test_hardening_platform)
        r = await sign(w, f"{PUBLIC}/wx/acme/inbox")
        assert r.status == 200
