"""The phone side's error pages: unknown tenant, WeChat snapshot page, bad OAuth state, server
error, a document that is not the person's, an unknown page. Each is the styled page in Chinese
(with the English text behind the switch), the contract's status, a next step, no stack trace."""
from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

from harness import document
from phone import PASSWORD
from wechat_env import wechat_env


def assert_error_page(r: Any, status: int, chinese: str, english: str, link: str | None = None) -> None:
    assert r.status == status, (r.status, r.text[:200])
    assert r.headers["Content-Type"].startswith("text/html")
    text = r.text
    assert '<html lang="zh-CN">' in text and 'class="error-page"' in text
    assert chinese in text and english in text
    assert text.index(chinese) < text.index(english)  # Chinese first; English behind the switch
    assert 'id="lang-en"' in text and ">English<" in text
    assert "Traceback" not in text and "Exception" not in text and "RuntimeError" not in text
    assert "<h1>" in text and "</html>" in text
    if link is not None:
        assert f'href="{link}"' in text, text


async def test_every_phone_error_is_the_styled_page(env):
    async with wechat_env(env) as wx:
        await wx.put_account("zhang", PASSWORD, name="张三")
        phone = wx.phone()
        # Unknown tenant: entry, OAuth, the pages, a file link.
        for path in ("/wx/nobody/entry?next=inbox", "/wx/nobody/oauth?code=x&state=y", "/wx/nobody/login",
                     "/wx/nobody/inbox", "/wx/nobody/doc/PO-1", "/wx/nobody/doc/PO-1/files/0"):
            assert_error_page(await phone.get(path), 404, "找不到这个单位的服务号页面", "This page does not exist")
        # An unknown page of a known tenant (the JSON API keeps its JSON 404).
        assert_error_page(await phone.get("/wx/acme/nonsense"), 404, "页面不存在", "Page not found",
                          "/wx/acme/inbox")
        api = await phone.get("/wx/acme/api/nonsense")
        assert api.status == 404 and api.json["error"]["code"] == "not_found"
        # A bad, forged or reused OAuth state: 400 with the way back to sign-in.
        r = await phone.get("/wx/acme/entry")
        state = parse_qs(urlsplit(r.headers["Location"].split("#")[0]).query)["state"][0]
        for path in ("/wx/acme/oauth?code=abc", f"/wx/acme/oauth?state={state}", "/wx/acme/oauth?code=abc&state=" + "0" * 32):
            assert_error_page(await phone.get(path), 400, "登录链接已失效", "The sign-in link has expired",
                              "/wx/acme/entry?next=inbox")
        # A WeChat snapshot-page user is never bound: 403 saying how to open the page properly.
        await wx.use_openid("acme", "o_snap", snapshot=True)
        assert_error_page(await wx.phone().open_entry(), 403, "使用完整服务", "use full service")
        # A document that is not the person's.
        await wx.use_openid("acme", "o_zhang")
        signed = wx.phone()
        assert (await signed.sign_in("zhang", PASSWORD, "o_zhang")).status == 200
        await wx.tenant_api("PUT", "/documents/PO-1", document(["someone-else"]))
        for path in ("/wx/acme/doc/PO-1", "/wx/acme/doc/PO-404"):
            assert_error_page(await signed.get(path), 404, "单据不存在或您无权查看", "Document not available",
                              "/wx/acme/inbox")


async def test_server_errors_are_styled_and_logged_without_details(env, caplog):
    async with wechat_env(env) as wx:
        await wx.put_account("zhang", PASSWORD, name="张三")
        phone = wx.phone()
        assert (await phone.sign_in("zhang", PASSWORD, "o_zhang")).status == 200

        async def broken(*args: Any, **kwargs: Any) -> Any:
            raise RuntimeError("secret internals: SELECT * FROM accounts")
        wx.g.gw.document_files.phone_view = broken  # type: ignore[method-assign]
        r = await phone.get("/wx/acme/doc/PO-1")
        assert_error_page(r, 500, "系统处理时出现问题", "Something went wrong", "/wx/acme/doc/PO-1")
        assert "secret internals" not in r.text and "SELECT" not in r.text
        wx.g.gw.oauth.finish = broken  # type: ignore[method-assign]
        r = await wx.phone().open_entry()
        assert_error_page(r, 500, "系统处理时出现问题", "Something went wrong", "/wx/acme/entry?next=inbox")
        assert "secret internals" not in caplog.text
