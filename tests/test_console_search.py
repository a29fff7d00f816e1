"""The accounts page's search on large tenants: the start of a login (any case), name or position,
read from each column's index (or, when a column matches very many, by walking the accounts in id
order), paged on the id either way."""
from __future__ import annotations

import re

import pytest

from gateway.accounts import listing
from test_console_people import admin_of, logins
from harness import document
from wechat_env import wechat_env


@pytest.mark.parametrize("candidates", [1000, 3])
async def test_search_by_the_start_of_login_name_or_position(env, monkeypatch, candidates: int) -> None:
    monkeypatch.setattr(listing, "SEARCH_CANDIDATES", candidates)  # 3: the walk in id order
    async with wechat_env(env) as wx:
        for n in range(55):
            await wx.put_account(f"Emp{n:02d}", name=f"员工{n:02d}", position="工程师" if n % 2 else "会计", password=None)
        await wx.put_account("boss", name="张总", position="总经理", password=None)
        admin = await admin_of(wx)

        async def found(query: str) -> list[str]:
            page = await admin.get(f"/console/t/acme/people?{query}")
            assert page.status == 200
            names = logins(page.text)
            more = re.search(r'id="next-page" href="([^"]+)"', page.text)
            if more:
                rest = await admin.get("/console/t/acme/people" + more.group(1).replace("&amp;", "&"))
                assert "q=" in more.group(1)
                names += logins(rest.text)
            return names

        every = [f"Emp{n:02d}" for n in range(55)]
        assert await found("q=emp") == every                      # login, any case, two pages
        assert await found("q=EMP0") == every[:10]
        assert await found("q=%E5%91%98%E5%B7%A5") == every       # 员工: names
        assert await found("q=%E5%B7%A5%E7%A8%8B") == every[1::2]  # 工程: positions
        assert await found("q=%E5%BC%A0") == ["boss"]              # 张
        assert await found("q=%E6%80%BB") == ["boss"]              # 总: 总经理 starts with it (张总 does not)
        assert await found("q=mp0") == []                          # not the start of anything
        assert await found("q=%25") == [] and await found("q=_") == []
        assert await found("q=emp&kind=customer") == []
        assert await found("q=emp0&status=never") == every[:10]


async def test_rows_are_escaped_and_row_buttons_act(env) -> None:
    async with wechat_env(env) as wx:
        await wx.put_account("x1", name="<script>alert('x')</script>", position='"&', password=None)
        admin = await admin_of(wx)
        page = (await admin.get("/console/t/acme/people")).text
        assert "<script>alert" not in page and "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in page
        assert "&quot;&amp;" in page
        assert page.count('name="_xsrf"') == 2  # the sign-out form and the list's one form
        asked = await admin.post("/console/t/acme/people", {"act": "depart:x1"})
        assert asked.status == 200 and 'id="question"' in asked.text
        done = await admin.post("/console/t/acme/people", {"login": "x1", "action": "depart", "confirm": "1"})
        assert done.status == 200 and (await wx.tenant_api("GET", "/accounts/x1")).json["status"] == "departed"
        assert (await admin.post("/console/t/acme/people", {"act": "explode:x1"})).status == 400


async def test_document_notices_are_escaped(env) -> None:
    async with wechat_env(env) as wx:
        await wx.put_account("x<1>", name="<img src=x onerror=alert(1)>")
        await wx.put_account("li", name="李四")
        r = await wx.tenant_api("PUT", "/documents/PO-1", document(["x<1>"], cc=["li"], title="<b>采购</b>"))
        assert r.status == 201, r.text
        await wx.g.gw.storage.execute("UPDATE document_recipients SET decision = 'approve' WHERE login = 'li'")
        admin = await admin_of(wx)
        page = (await admin.get("/console/t/acme/documents")).text
        assert "<img" not in page and "&lt;img src=x onerror=alert(1)&gt;（审批人）：" in page
        assert 'data-login="x&lt;1&gt;"' in page and "&lt;b&gt;采购&lt;/b&gt;" in page
        assert "李四（抄送）：" in page and "<b>同意</b>" in page
