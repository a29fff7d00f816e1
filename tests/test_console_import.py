"""The console's import of people sheets over HTTP: upload (CSV in UTF-8 with or without BOM or
GB18030, XLSX), preview with the column mapping (tenant names, Chinese and English headers, the
mapping remembered), dry run listing every bad row and writing nothing, the import all or
nothing, and the initial passwords (column, one for all, generated once as a sheet)."""
from __future__ import annotations

import asyncio
import csv
import io
import re
import time

import pytest

from console_client import ConsoleClient
from gateway.platform.errors import NotFound
from phone import PASSWORD
from test_console_people import admin_of
from test_import import csv_bytes, xlsx_bytes
from wechat_env import WeChatEnv, wechat_env

BASE = "/console/t/acme/people/import"


async def upload(admin: ConsoleClient, filename: str, content: bytes, slug: str = "acme") -> str:
    """Uploads a sheet; returns the preview page's path."""
    answer = await admin.post_file(f"/console/t/{slug}/people/import", "file", filename, content)
    assert answer.status == 302, answer.text
    return answer.headers["Location"]


def selected(page: str, field: str) -> str:
    """The header text chosen for a field in the mapping form ("" when none)."""
    block = page.split(f'name="col_{field}"')[1].split("</select>")[0]
    match = re.search(r'<option value="\d+" selected>([^<]*)<', block)
    return match.group(1) if match else ""


def choice(page: str, field: str) -> str:
    block = page.split(f'name="col_{field}"')[1].split("</select>")[0]
    match = re.search(r'<option value="(\d+)" selected>', block)
    return match.group(1) if match else ""


def form_of(page: str, **changes: str) -> dict[str, str]:
    fields = {f"col_{f}": choice(page, f) for f in ("login", "name", "position", "wechat", "kind", "password")}
    fields.update(changes)
    return fields


async def count(wx: WeChatEnv) -> int:
    return int(await wx.g.gw.storage.fetchval("SELECT COUNT(*) FROM accounts"))


async def test_preview_recognises_headers_and_remembers_the_mapping(env) -> None:
    async with wechat_env(env, slugs=("acme", "beta")) as wx:
        admin = await admin_of(wx)
        start = await admin.get(BASE)
        assert start.status == 200 and 'id="upload-form"' in start.text and "导入人员" in start.text
        # English headers, GB18030 text.
        path = await upload(admin, "people.csv", csv_bytes(
            [["Username", "Full Name", "Job Title", "WeChat ID", "Type"], ["zs", "张三", "经理", "zs_wx", "员工"]],
            "gb18030"))
        page = await admin.get(path)
        assert page.status == 200 and "张三" in page.text and 'id="total-rows">1<' in page.text
        assert [selected(page.text, f) for f in ("login", "name", "position", "wechat", "kind", "password")] == \
            ["Username", "Full Name", "Job Title", "WeChat ID", "Type", ""]
        # UTF-8 with a BOM, the tenant's own Chinese names.
        path = await upload(admin, "people.csv", b"\xef\xbb\xbf" + csv_bytes(
            [["备注", "工号", "姓名", "职位", "微信号", "初始密码"], ["x", "li", "李四", "会计", "li_wx", "Li#Si2026pw"]]))
        page = await admin.get(path)
        assert [selected(page.text, f) for f in ("login", "name", "position", "wechat", "password")] == \
            ["工号", "姓名", "职位", "微信号", "初始密码"]
        # A mapping chosen by hand is remembered for the next sheet with those headers.
        path = await upload(admin, "odd.csv", csv_bytes([["编号", "人名", "备注"], ["w1", "王五", "工程师"]]))
        page = await admin.get(path)
        assert selected(page.text, "login") == "" and selected(page.text, "name") == ""
        done = await admin.post(path, form_of(page.text, col_login="0", col_name="1", col_position="2", mode="none",
                                              action="import"))
        assert done.status == 200 and 'id="created">1<' in done.text, done.text
        page = await admin.get(await upload(admin, "odd2.csv", csv_bytes([["人名", "编号", "备注"], ["赵六", "z1", ""]])))
        assert (selected(page.text, "login"), selected(page.text, "name"), selected(page.text, "position")) == \
            ("编号", "人名", "备注")
        # XLSX, numbers as logins.
        page = await admin.get(await upload(admin, "people.xlsx", xlsx_bytes([["工号", "姓名"], [1001, "钱七"]])))
        assert selected(page.text, "login") == "工号" and "1001" in page.text and "1001.0" not in page.text
        # Another tenant's upload and pages: 404; a forged token: 404; no file: 400.
        other = path.replace("/acme/", "/beta/")
        assert (await admin.get(other)).status == 404
        assert (await admin.get("/console/t/beta/people/import")).status == 404
        assert (await admin.get(BASE + "/" + "A" * 24)).status == 404
        assert (await admin.post_file(BASE, "file", "x.csv", b"")).status == 400
        bad = await admin.post_file(BASE, "file", "x.pdf", b"%PDF-1.4 hello")
        assert bad.status == 400 and ".xlsx" in bad.text
        # Without the XSRF token: refused, nothing kept.
        kept = await wx.g.gw.storage.fetchval("SELECT COUNT(*) FROM import_uploads")
        token = admin.cookies.pop("_xsrf")
        forged = await admin.post_file(BASE, "file", "x.csv", csv_bytes([["工号", "姓名"], ["a", "b"]]))
        admin.cookies["_xsrf"] = token
        assert forged.status == 403
        assert await wx.g.gw.storage.fetchval("SELECT COUNT(*) FROM import_uploads") == kept
        assert (await admin.post(path, {"action": "import", "mode": "none"}, xsrf=False)).status == 403


async def test_dry_run_lists_every_bad_row_and_writes_nothing(env) -> None:
    async with wechat_env(env, policy={"allow_mobile_registration": True, "password_min_length": 10}) as wx:
        await wx.put_account("old", name="老员工")
        phone = wx.phone()
        await wx.use_openid("acme", "o_pend")
        await phone.open_entry("register")
        assert (await phone.api("register", {"login": "pend", "name": "P", "password": PASSWORD})).status == 201
        admin = await admin_of(wx)
        rows = [["工号", "姓名", "职位", "微信号", "类型", "密码"],
                ["ok1", "甲", "", "ok1_wx", "", "Good#Pass2026"],
                ["", "无账号", "", "", "", "Good#Pass2026"],
                ["ok1", "重复", "", "", "", "Good#Pass2026"],
                ["nm", "", "", "", "", "Good#Pass2026"],
                ["short", "乙", "", "", "", "abc"],
                ["kind", "丙", "", "", "老板", "Good#Pass2026"],
                ["wx", "丁", "", "有 空格", "", "Good#Pass2026"],
                ["pend", "待审核", "", "", "", "Good#Pass2026"],
                ["old", "老员工新名", "", "", "", ""]]
        path = await upload(admin, "bad.csv", csv_bytes(rows))
        page = await admin.get(path)
        before = await count(wx)
        audit_before = len(await wx.audit())
        checked = await admin.post(path, form_of(page.text, mode="column", action="check"))
        assert checked.status == 422
        bad = dict(re.findall(r'<tr data-row="(\d+)">.*?<td>(.*?)</td></tr>', checked.text.split('id="bad-rows"')[1],
                              re.S))
        assert sorted(int(n) for n in bad) == [3, 4, 5, 6, 7, 8, 9], checked.text
        assert "账号为空" in bad["3"] and "第 2 行重复" in bad["4"] and "姓名为空" in bad["5"]
        assert "至少需要 10 个字符" in bad["6"] and "类型只能是" in bad["7"] and "微信号只能含" in bad["8"]
        assert "待审核的自助注册" in bad["9"]
        assert await count(wx) == before and len(await wx.audit()) == audit_before
        # The import itself refuses the same file whole.
        refused = await admin.post(path, form_of(page.text, mode="column", action="import"))
        assert refused.status == 422 and "没有导入任何数据" in refused.text
        assert await count(wx) == before
        assert (await wx.tenant_api("GET", "/accounts/pend")).json["status"] == "pending"
        # A missing mapping is said plainly.
        unmapped = await admin.post(path, form_of(page.text, col_login="", mode="none", action="check"))
        assert unmapped.status == 400 and "请指定账号列" in unmapped.text
        nocol = await admin.post(path, form_of(page.text, col_password="", mode="column", action="check"))
        assert nocol.status == 400 and "请指定密码列" in nocol.text


async def test_import_with_password_column_keeps_existing_accounts(env) -> None:
    async with wechat_env(env, policy={"first_login_change_password": True}) as wx:
        await wx.put_account("old", name="老员工")
        await wx.tenant_api("POST", "/accounts/old/depart")
        admin = await admin_of(wx)
        path = await upload(admin, "p.csv", csv_bytes([["工号", "姓名", "职位", "微信号", "密码"],
                                                       ["new1", "新人", "出纳", "new1_wx", "New#Person2026"],
                                                       ["old", "老员工改名", "顾问", "old_wx", "Other#Pass2026"]]))
        page = await admin.get(path)
        checked = await admin.post(path, form_of(page.text, mode="column", action="check"))
        assert checked.status == 200 and 'id="plan-new">1<' in checked.text and 'id="plan-existing">1<' in checked.text
        assert "密码保持不变" in checked.text
        done = await admin.post(path, form_of(page.text, mode="column", action="import"))
        assert done.status == 200 and 'id="created">1<' in done.text and 'id="updated">1<' in done.text
        assert "New#Person2026" not in done.text and 'id="download"' not in done.text
        old = (await wx.tenant_api("GET", "/accounts/old")).json
        assert (old["name"], old["position"], old["status"]) == ("老员工改名", "顾问", "departed")
        departed = wx.phone()
        assert (await departed.sign_in("old", PASSWORD, openid="o_old")).status == 403  # its own password, still departed
        phone = wx.phone()
        assert (await phone.sign_in("new1", "New#Person2026", openid="o_new1")).status == 200
        assert (await phone.me()).json["must_change_password"] is True
        # The upload is used up (the page says to upload again); the WeChat ids are on the people page.
        used = await admin.get(path)
        assert used.status == 404 and "请重新上传" in used.text and 'id="upload-form"' in used.text
        assert (await admin.post(path, form_of(page.text, mode="column", action="import"))).status == 404
        people = await admin.get("/console/t/acme/people")
        assert "new1_wx" in people.text.split('data-login="new1"')[1].split("</tr>")[0]
        assert "old_wx" in people.text.split('data-login="old"')[1].split("</tr>")[0]
        events = await wx.audit()
        imported = [e for e in events if e["action"] == "accounts.imported"]
        assert imported and imported[-1]["actor"] == "console:alice"
        assert imported[-1]["detail"]["created"] == 1 and imported[-1]["detail"]["initial_passwords"] == "column"
        assert "New#Person2026" not in str(events)
        stored = await wx.g.gw.storage.fetchval("SELECT password_hash FROM accounts WHERE login = 'new1'")
        assert stored.startswith("scrypt$") and "New#Person2026" not in stored


async def test_same_password_and_generated_sheet_once(env) -> None:
    async with wechat_env(env, policy={"first_login_change_password": True}) as wx:
        admin = await admin_of(wx)
        path = await upload(admin, "s.csv", csv_bytes([["工号", "姓名"], ["a1", "一"], ["a2", "二"]]))
        page = await admin.get(path)
        weak = await admin.post(path, form_of(page.text, mode="same", same_password="123", action="import"))
        assert weak.status == 422 and await count(wx) == 0 and "123" not in weak.text.split('id="bad-rows"')[0][-200:]
        done = await admin.post(path, form_of(page.text, mode="same", same_password="Same#Start2026",
                                              action="import"))
        assert done.status == 200 and 'id="created">2<' in done.text
        for login in ("a1", "a2"):
            phone = wx.phone()
            assert (await phone.sign_in(login, "Same#Start2026", openid=f"o_{login}")).status == 200
            assert (await phone.me()).json["must_change_password"] is True
        # Generated: one strong password per new account, offered once as a sheet.
        await wx.put_account("kept", name="已有")
        rows = [["Login", "Name"], ["kept", "已有改名"], *[[f"g{n}", f"生成{n}"] for n in range(5)], ["=cmd", "公式"]]
        path = await upload(admin, "g.csv", csv_bytes(rows))
        page = await admin.get(path)
        done = await admin.post(path, form_of(page.text, mode="generate", action="import"))
        assert done.status == 200 and 'id="created">6<' in done.text and 'id="updated">1<' in done.text
        link = re.search(r'id="download" href="([^"]+)"', done.text).group(1)
        # Not downloaded yet (say the answer was lost to a proxy's timeout): the import page offers it.
        start = await admin.get(BASE)
        assert start.text.count('class="msg warn waiting-sheet"') == 1 and link in start.text
        sheet = await admin.get(link)
        assert sheet.status == 200 and sheet.headers["Content-Type"].startswith("text/csv")
        assert sheet.body.startswith(b"\xef\xbb\xbf")
        got = list(csv.reader(io.StringIO(sheet.body.decode("utf-8-sig"))))
        assert got[0][0].startswith("账号") and len(got) == 7 and "kept" not in [r[0] for r in got]
        passwords = {r[0]: r[2] for r in got[1:]}
        assert passwords["'=cmd"], "a cell Excel would run is quoted"
        assert len(set(passwords.values())) == 6 and all(len(p) == 16 for p in passwords.values())
        assert all(p[0].isalnum() for p in passwords.values())  # never quoted by the formula guard
        assert (await admin.get(link)).status == 404  # once
        assert "waiting-sheet" not in (await admin.get(BASE)).text
        phone = wx.phone()
        assert (await phone.sign_in("g3", passwords["g3"], openid="o_g3")).status == 200
        kept = wx.phone()
        assert (await kept.sign_in("kept", PASSWORD, openid="o_kept")).status == 200  # its password unchanged
        for event in await wx.audit():
            assert passwords["g3"] not in str(event)
        assert (await admin.get(link.replace("/acme/", "/beta/"))).status == 404


async def test_two_thousand_generated_passwords_do_not_block(env) -> None:
    async with wechat_env(env) as wx:
        admin = await admin_of(wx)
        rows = [["工号", "姓名"], *[[f"u{n:04d}", f"员工{n}"] for n in range(2000)]]
        path = await upload(admin, "big.csv", csv_bytes(rows))
        page = await admin.get(path)
        started = time.monotonic()
        running = asyncio.ensure_future(admin.post(path, form_of(page.text, mode="generate", action="import")))
        slowest = 0.0
        while not running.done():  # the gateway keeps answering while 2,000 passwords are hashed
            asked = time.monotonic()
            assert (await wx.g.request("GET", "/healthz")).status == 200
            slowest = max(slowest, time.monotonic() - asked)
            await asyncio.sleep(0.05)
        done = running.result()
        took = time.monotonic() - started
        assert slowest < 1.0, slowest
        assert done.status == 200 and 'id="created">2000<' in done.text
        assert took < 60, took
        assert await count(wx) == 2000
        hashes = await wx.g.gw.storage.fetchval(
            "SELECT COUNT(DISTINCT password_hash) FROM accounts WHERE password_hash IS NOT NULL")
        assert hashes == 2000


async def test_the_api_import_keeps_wechat_ids_too(env) -> None:
    async with wechat_env(env) as wx:
        data = csv_bytes([["工号", "姓名", "微信号"], ["zs", "张三", "zs_wechat"], ["ls", "李四", ""]])
        answer = await wx.tenant_api("POST", "/accounts/import", raw=data, headers={"Content-Type": "text/csv"})
        assert answer.status == 200 and answer.json == {"created": 2, "updated": 0}
        bad = csv_bytes([["工号", "姓名", "微信号"], ["ww", "王五", "has space"]])
        refused = await wx.tenant_api("POST", "/accounts/import", raw=bad, headers={"Content-Type": "text/csv"})
        assert refused.status == 422 and "WeChat id" in refused.text
        admin = await admin_of(wx)
        page = (await admin.get("/console/t/acme/people")).text
        assert "zs_wechat" in page.split('data-login="zs"')[1].split("</tr>")[0]
        assert "wechat-id" not in page.split('data-login="ls"')[1].split("</tr>")[0]
        # An empty cell clears the stored id; a sheet without the column leaves it.
        again = csv_bytes([["工号", "姓名"], ["zs", "张三"]])
        assert (await wx.tenant_api("POST", "/accounts/import", raw=again,
                                    headers={"Content-Type": "text/csv"})).status == 200
        assert "zs_wechat" in (await admin.get("/console/t/acme/people")).text
        clear = csv_bytes([["工号", "姓名", "微信号"], ["zs", "张三", ""]])
        assert (await wx.tenant_api("POST", "/accounts/import", raw=clear,
                                    headers={"Content-Type": "text/csv"})).status == 200
        assert "zs_wechat" not in (await admin.get("/console/t/acme/people")).text


async def test_an_upload_is_kept_an_hour_sealed(env) -> None:
    async with wechat_env(env) as wx:
        admin = await admin_of(wx)
        path = await upload(admin, "s.csv", csv_bytes([["工号", "姓名", "密码"], ["a1", "一", "Secret#Cell2026"]]))
        token = path.rsplit("/", 1)[1]
        stored = await wx.g.gw.storage.fetchone("SELECT sealed FROM import_uploads WHERE token = ?", (token,))
        assert b"Secret#Cell2026" not in bytes(stored["sealed"]) and "a1".encode() not in bytes(stored["sealed"])
        service = wx.g.gw.sheet_import
        assert (await service.preview(wx.tenant, token)).total == 1
        wx.advance(3601)
        with pytest.raises(NotFound):
            await service.preview(wx.tenant, token)
        await service.upload(wx.tenant, "y.csv", csv_bytes([["工号", "姓名"], ["b", "二"]]))  # sweeps the old one
        assert await wx.g.gw.storage.fetchval("SELECT COUNT(*) FROM import_uploads WHERE token = ?", (token,)) == 0


def test_generated_passwords_never_start_as_a_formula() -> None:
    from gateway.accounts.initial_password import strong_password
    from gateway.platform.csv_export import safe_cell
    for _ in range(5000):
        password = strong_password()
        assert safe_cell(password) == password and len(password) == 16
