"""Attachments: the document's list checked by the tenant API, shown to recipients without the
business system's URL, and relayed through /wx/{slug}/doc/{doc_id}/files/{n} to recipients only,
streamed, capped at 20 MB, under the webhooks' SSRF rules, with the listed type."""
from __future__ import annotations

import asyncio
import time
from typing import Any

import tornado.httpclient

from business_files import BusinessFiles, answer, chunked, declared, gated, redirect, silent, stalls_after
from gateway.documents.attachment_fetch import AttachmentFetcher
from harness import document
from phone import sign_in
from wechat_env import Simulator

PDF = b"%PDF-1.4\n" + bytes(range(256)) * 40
MB = 1024 * 1024


def files_of(files: BusinessFiles, *entries: tuple[str, str, str, int]) -> list[dict[str, Any]]:
    return [{"name": name, "url": files.url(path), "content_type": kind, "size": size}
            for name, path, kind, size in entries]


async def fetch(g: Any, phone: Any, path: str, **kw: Any) -> tuple[int, Any, Any]:
    """GET with the phone's cookies, no redirects; (599, None, error) when the answer breaks off."""
    client = tornado.httpclient.AsyncHTTPClient(force_instance=True)
    headers = phone._headers() if phone is not None else {}
    try:
        r = await client.fetch(g.base_url + path, headers=headers, raise_error=False, follow_redirects=False,
                               request_timeout=30, **kw)
        return r.code, r.headers, r.body
    except Exception as exc:  # a cut connection
        return 599, None, exc
    finally:
        client.close()


async def _setup(g: Any, sim: Simulator, slug: str = "acme", logins: tuple[str, ...] = ("alice", "bob", "eve")):
    created = await g.create_tenant(slug)
    app_id = await sim.add_tenant_app(slug, g.base_url)
    phones = {login: await sign_in(g, sim.client, app_id, slug, created["api_key"], login,
                                   openid=f"o_{slug}_{login}") for login in logins}
    return created["api_key"], phones


def _settings(private: bool = True) -> dict[str, Any]:
    return {"security": {"allow_private_webhooks": private}, "delivery": {"attachment_timeout": 1.0}}


async def test_list_checked_shown_without_urls(env):
    async with Simulator() as sim, BusinessFiles({"/r.pdf": answer(PDF)}) as files:
        async with env.gateway(wechat=sim.wechat(), **_settings()) as g:
            key, phones = await _setup(g, sim)
            listed = files_of(files, ("报价单.pdf", "/r.pdf", "application/pdf", len(PDF)),
                              ("现场照片.jpg", "/p.jpg", "image/jpeg", 2 * MB + 5),
                              ("明细.xlsx", "/m.xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                               3000))
            r = await g.request("PUT", "/api/v1/acme/documents/PO-1", document(["alice"], ["bob"], attachments=listed),
                                token=key)
            assert r.status == 201, r.text
            assert r.json["document"]["attachments"] == listed
            assert (await g.request("GET", "/api/v1/acme/documents/PO-1", token=key)).json["attachments"] == listed
            for login in ("alice", "bob"):
                view = await phones[login].get("/wx/acme/api/documents/PO-1")
                assert view.status == 200
                assert [(a["n"], a["name"], a["size"], a["kind"], a["href"]) for a in view.json["attachments"]] == [
                    (0, "报价单.pdf", len(PDF), "pdf", "/wx/acme/doc/PO-1/files/0"),
                    (1, "现场照片.jpg", 2 * MB + 5, "image", "/wx/acme/doc/PO-1/files/1"),
                    (2, "明细.xlsx", 3000, "excel", "/wx/acme/doc/PO-1/files/2")]
                assert f":{files.port}" not in view.text and "url" not in str(view.json["attachments"])
                page = await phones[login].get("/wx/acme/doc/PO-1")
                assert page.status == 200
                assert "报价单.pdf" in page.text and "2.0 MB" in page.text and "/wx/acme/doc/PO-1/files/2" in page.text
                assert f":{files.port}" not in page.text and "127.0.0.1" not in page.text
            # A later PUT replaces the list; none at all empties it.
            await g.request("PUT", "/api/v1/acme/documents/PO-1", document(["alice"], ["bob"], attachments=listed[:1]),
                            token=key)
            assert len((await phones["alice"].get("/wx/acme/api/documents/PO-1")).json["attachments"]) == 1
            await g.request("PUT", "/api/v1/acme/documents/PO-1", document(["alice"], ["bob"]), token=key)
            assert (await phones["alice"].get("/wx/acme/api/documents/PO-1")).json["attachments"] == []
            assert "attachments-card" not in (await phones["alice"].get("/wx/acme/doc/PO-1")).text

            ok = {"name": "a.pdf", "url": "https://erp.example.com/f/1", "size": 10, "content_type": "application/pdf"}
            bad_cases = [
                ([ok] * 21, "at most 20"),
                ([{**ok, "url": "ftp://erp.example.com/f"}], "attachments[0].url"),
                ([{**ok, "url": "https://user:pw@erp.example.com/f"}], "user name or password"),
                ([{**ok, "size": 20 * MB + 1}], "attachments[0].size"),
                ([{**ok, "size": "10"}], "attachments[0].size"),
                ([{**ok, "content_type": "pdf"}], "attachments[0].content_type"),
                ([{**ok, "name": ""}], "attachments[0].name"),
                ([{**ok, "name": "../../etc/passwd"}], "attachments[0].name"),
                ([{**ok, "extra": 1}], "attachments[0].extra is not a known field"),
                ([ok, {"name": "b.pdf"}], "attachments[1].url is required"),
                ("a.pdf", "attachments must be a list"),
            ]
            for value, expected in bad_cases:
                r = await g.request("PUT", "/api/v1/acme/documents/PO-2", document(["alice"], attachments=value),
                                    token=key)
                assert r.status == 400, (value, r.text)
                assert r.json["error"]["code"] == "invalid"
                assert any(expected in p for p in r.json["error"]["details"]["problems"]), (expected, r.json)
            assert (await g.request("GET", "/api/v1/acme/documents/PO-2", token=key)).status == 404
            assert (await g.request("PUT", "/api/v1/acme/documents/PO-2", document(["alice"], attachments=[ok] * 20),
                                    token=key)).status == 201


async def test_private_and_plain_http_refused_without_the_setting(env):
    async with env.gateway(**_settings(private=False)) as g:
        created = await g.create_tenant("acme")
        ok = {"name": "a.pdf", "size": 10, "content_type": "application/pdf"}
        for url in ("http://erp.example.com/f.pdf", "http://10.0.0.5/f.pdf", "https://127.0.0.1/f.pdf",
                    "https://localhost/f.pdf", "https://169.254.169.254/latest/meta-data/", "https://[::1]/f"):
            r = await g.request("PUT", "/api/v1/acme/documents/PO-1",
                                document(["alice"], attachments=[{**ok, "url": url}]), token=created["api_key"])
            assert r.status == 400, (url, r.text)
            assert "attachments[0].url" in r.json["error"]["details"]["problems"][0]
        r = await g.request("PUT", "/api/v1/acme/documents/PO-1",
                            document(["alice"], attachments=[{**ok, "url": "https://erp.example.com/f.pdf"}]),
                            token=created["api_key"])
        assert r.status == 201, r.text


async def test_relayed_to_recipients_with_the_listed_type(env):
    gate = asyncio.Event()
    scripts = {"/r.pdf": answer(PDF, content_type="text/html"),
               "/n.docx": answer(b"PK\x03\x04docx", content_type="text/html"),
               "/x.svg": answer(b"<svg onload=alert(1)>", content_type="image/svg+xml"),
               "/slow.bin": gated(b"a" * 200_000, b"b" * 200_000, gate)}
    async with Simulator() as sim, BusinessFiles(scripts) as files:
        async with env.gateway(wechat=sim.wechat(), **_settings()) as g:
            key, phones = await _setup(g, sim)
            listed = files_of(files, ("报价单 v2.pdf", "/r.pdf", "application/pdf", len(PDF)),
                              ("采购合同(草稿).docx", "/n.docx",
                               "application/vnd.openxmlformats-officedocument.wordprocessingml.document", 10),
                              ("logo.svg", "/x.svg", "image/svg+xml", 21),
                              ("big.bin", "/slow.bin", "application/octet-stream", 400_000))
            await g.request("PUT", "/api/v1/acme/documents/PO-1", document(["alice"], ["bob"], attachments=listed),
                            token=key)
            for login in ("alice", "bob"):
                status, headers, body = await fetch(g, phones[login], "/wx/acme/doc/PO-1/files/0")
                assert status == 200 and body == PDF
                assert headers["Content-Type"] == "application/pdf"
                assert headers["Content-Disposition"] == (
                    "inline; filename=\"___ v2.pdf\"; filename*=UTF-8''%E6%8A%A5%E4%BB%B7%E5%8D%95%20v2.pdf")
                assert headers["X-Content-Type-Options"] == "nosniff"
                assert headers["Content-Security-Policy"] == "frame-ancestors 'none'"  # a sandbox would stop the PDF viewer
            status, headers, body = await fetch(g, phones["alice"], "/wx/acme/doc/PO-1/files/1")
            assert status == 200 and body == b"PK\x03\x04docx"
            assert headers["Content-Type"].startswith("application/vnd.openxmlformats")
            assert headers["Content-Disposition"].startswith("attachment; ")
            assert headers["Content-Security-Policy"].startswith("sandbox")
            assert "filename*=UTF-8''%E9%87%87%E8%B4%AD%E5%90%88%E5%90%8C%28%E8%8D%89%E7%A8%BF%29.docx" in \
                headers["Content-Disposition"]
            status, headers, _ = await fetch(g, phones["alice"], "/wx/acme/doc/PO-1/files/2")
            assert status == 200 and headers["Content-Disposition"].startswith("attachment; ")  # SVG never inline
            assert headers["Content-Security-Policy"].startswith("sandbox")

            # Streamed: the first part reaches the phone while the business system still holds the rest.
            got: list[bytes] = []

            def on_chunk(chunk: bytes) -> None:
                got.append(chunk)
                if sum(map(len, got)) >= 200_000:
                    gate.set()
            status, headers, _ = await fetch(g, phones["alice"], "/wx/acme/doc/PO-1/files/3", streaming_callback=on_chunk)
            assert status == 200 and b"".join(got) == b"a" * 200_000 + b"b" * 200_000
            assert headers["Content-Length"] == "400000"


async def test_nobody_else_gets_a_file(env):
    async with Simulator() as sim, BusinessFiles({"/r.pdf": answer(PDF)}) as files:
        async with env.gateway(wechat=sim.wechat(), **_settings()) as g:
            key, phones = await _setup(g, sim)
            beta_key, beta = await _setup(g, sim, "beta", ("alice",))
            listed = files_of(files, ("r.pdf", "/r.pdf", "application/pdf", len(PDF)))
            await g.request("PUT", "/api/v1/acme/documents/PO-1", document(["alice"], ["bob"], attachments=listed),
                            token=key)
            await g.request("PUT", "/api/v1/beta/documents/PO-1", document(["alice"]), token=beta_key)
            other_tenant = type(beta["alice"])(g, "acme", cookies={"gw_session": beta["alice"].cookies["gw_session"]})
            cases = [(phones["eve"], "/wx/acme/doc/PO-1/files/0"),      # not a recipient
                     (None, "/wx/acme/doc/PO-1/files/0"),               # no session
                     (other_tenant, "/wx/acme/doc/PO-1/files/0"),       # another tenant's session
                     (phones["alice"], "/wx/acme/doc/PO-1/files/1"),    # no such attachment
                     (phones["alice"], "/wx/acme/doc/PO-9/files/0"),    # no such document
                     (beta["alice"], "/wx/beta/doc/PO-1/files/0")]      # the other tenant's document has none
            for phone, path in cases:
                status, headers, body = await fetch(g, phone, path)
                assert status == 404, (path, status)
                text = body.decode()
                assert headers["Content-Type"].startswith("text/html") and "单据不存在或您无权查看" in text
                assert "Traceback" not in text and "127.0.0.1" not in text
            assert files.hits == []
            r = await phones["eve"].get("/wx/acme/doc/PO-1")
            assert r.status == 404 and "单据不存在或您无权查看" in r.text
            status, _, body = await fetch(g, phones["alice"], "/wx/acme/doc/PO-1/files/0")
            assert status == 200 and body == PDF and files.hits == ["/r.pdf"]


async def test_hostile_business_systems(env):
    async with BusinessFiles({"/secret": answer(b"internal")}) as canary:
        scripts = {"/to-loopback": redirect(canary.url("/secret")),
                   "/to-metadata": redirect("http://169.254.169.254/latest/meta-data/"),
                   "/error": answer(b"<h1>boom</h1>", status="500 Internal Server Error"),
                   "/declared-big": declared(21 * MB),
                   "/chunked-big": chunked(21 * MB),
                   "/chunked-ok": chunked(300_000),
                   "/silent": silent(),
                   "/stalls": stalls_after(b"x" * 1000, 100_000)}
        async with Simulator() as sim, BusinessFiles(scripts) as files:
            async with env.gateway(wechat=sim.wechat(), **_settings()) as g:
                key, phones = await _setup(g, sim, logins=("alice",))
                names = list(scripts)
                listed = [{"name": f"f{i}.pdf", "url": files.url(p), "size": 1, "content_type": "application/pdf"}
                          for i, p in enumerate(names)]
                await g.request("PUT", "/api/v1/acme/documents/PO-1", document(["alice"], attachments=listed), token=key)
                alice = phones["alice"]

                async def get(path: str) -> tuple[int, Any, Any, float]:
                    started = time.monotonic()
                    status, headers, body = await fetch(g, alice, f"/wx/acme/doc/PO-1/files/{names.index(path)}")
                    return status, headers, body, time.monotonic() - started

                for path in ("/to-loopback", "/to-metadata", "/error"):
                    status, headers, body, _ = await get(path)
                    assert status == 502, (path, status)
                    assert "附件暂时无法打开" in body.decode() and "boom" not in body.decode()
                    assert "Location" not in headers
                assert canary.hits == []
                status, _, body, took = await get("/declared-big")
                assert status == 413 and "超过 20 MB" in body.decode() and took < 5
                status, _, body, _ = await get("/chunked-big")
                assert status == 599, status  # cut off: never a shorter file that looks whole
                status, _, body, _ = await get("/chunked-ok")
                assert status == 200 and body == b"x" * 300_000
                status, _, body, took = await get("/silent")
                assert status == 504 and "附件加载超时" in body.decode() and took < 6
                status, _, body, took = await get("/stalls")
                assert status == 599 and took < 6  # announced 100,000 bytes, sent 1,000: cut, not truncated


async def test_private_addresses_refused_when_connecting(env):
    async with Simulator() as sim, BusinessFiles({"/r.pdf": answer(PDF)}) as files:
        async with env.gateway(wechat=sim.wechat(), **_settings()) as g:
            key, phones = await _setup(g, sim, logins=("alice",))
            listed = [{"name": "a.pdf", "url": files.url("/r.pdf"), "size": 1, "content_type": "application/pdf"},
                      {"name": "b.pdf", "url": f"https://localhost:{files.port}/r.pdf", "size": 1,
                       "content_type": "application/pdf"}]
            await g.request("PUT", "/api/v1/acme/documents/PO-1", document(["alice"], attachments=listed), token=key)
            # The same list, fetched by a gateway whose [security] allow_private_webhooks is off.
            g.gw.attachment_fetcher = AttachmentFetcher(False, 1.0)
            for n in (0, 1):  # plain http; a name that resolves to loopback
                status, _, body = await fetch(g, phones["alice"], f"/wx/acme/doc/PO-1/files/{n}")
                assert status == 502 and "附件暂时无法打开" in body.decode()
            assert files.hits == []


async def test_a_phone_that_stops_reading_releases_the_business_system(env, monkeypatch):
    from gateway.documents import attachment_fetch
    monkeypatch.setattr(attachment_fetch, "PHONE_STALL", 0.5)
    outcome: dict[str, Any] = {}

    async def endless(w: asyncio.StreamWriter) -> None:
        w.write(b"HTTP/1.1 200 OK\r\nContent-Length: 19000000\r\n\r\n")
        try:
            for _ in range(19000000 // 65536):
                w.write(b"z" * 65536)
                await w.drain()
            outcome["finished"] = True
        except ConnectionError:
            outcome["dropped_at"] = time.monotonic()
    async with Simulator() as sim, BusinessFiles({"/big.bin": endless}) as files:
        async with env.gateway(wechat=sim.wechat(), **_settings()) as g:
            key, phones = await _setup(g, sim, logins=("alice",))
            listed = [{"name": "big.bin", "url": files.url("/big.bin"), "size": 19000000,
                       "content_type": "application/octet-stream"}]
            await g.request("PUT", "/api/v1/acme/documents/PO-1", document(["alice"], attachments=listed), token=key)
            # A phone that asks for the file and then reads nothing.
            reader, writer = await asyncio.open_connection("127.0.0.1", g.port)
            cookie = phones["alice"]._headers()["Cookie"]
            writer.write(f"GET /wx/acme/doc/PO-1/files/0 HTTP/1.1\r\nHost: x\r\nCookie: {cookie}\r\n\r\n".encode())
            await writer.drain()
            started = time.monotonic()
            while "dropped_at" not in outcome and time.monotonic() - started < 15:
                await asyncio.sleep(0.1)
            assert "finished" not in outcome and "dropped_at" in outcome  # let go, not held open
            writer.close()


async def test_files_of_a_closed_document_follow_the_retention_period(env):
    """A closed document's files stay reachable while the phone keeps the document, then 404
    without asking the business system."""
    async with Simulator() as sim, BusinessFiles({"/r.pdf": answer(PDF)}) as files:
        async with env.gateway(wechat=sim.wechat(), **_settings()) as g:
            key, phones = await _setup(g, sim, logins=("alice",))
            listed = files_of(files, ("r.pdf", "/r.pdf", "application/pdf", len(PDF)))
            await g.request("PUT", "/api/v1/acme/documents/PO-1", document(["alice"], attachments=listed), token=key)
            await g.request("POST", "/api/v1/acme/documents/PO-1/close", {"status": "approved"}, token=key)
            status, _, body = await fetch(g, phones["alice"], "/wx/acme/doc/PO-1/files/0")
            assert status == 200 and body == PDF and files.hits == ["/r.pdf"]
            tenant = g.gw.registry.require("acme")
            await g.gw.storage.execute("UPDATE documents SET closed_at = closed_at - ? WHERE tenant_id = ?",
                                       (181 * 86400, tenant.id))
            status, _, body = await fetch(g, phones["alice"], "/wx/acme/doc/PO-1/files/0")
            assert status == 404 and "单据不存在或您无权查看" in body.decode()
            assert files.hits == ["/r.pdf"]
