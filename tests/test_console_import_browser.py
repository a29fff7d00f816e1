"""The console's import and logs in headless Chromium: an .xlsx uploaded, its preview and column
mapping, a dry run listing bad rows, the import with generated passwords downloaded once, the
WeChat id on the people page, and the two logs with their filters and CSV export. With
GATEWAY_CONSOLE_SHOTS=docs/screenshots it writes the README's screenshots."""
from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import pytest
from playwright.async_api import expect

from phone import PASSWORD
from test_console_browser import chromium, operator_page, shot
from test_import import csv_bytes, xlsx_bytes
from wechat_env import wechat_env

pytestmark = [pytest.mark.browser]
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


async def test_import_a_sheet_in_chromium(env, tmp_path: Path) -> None:
    async with wechat_env(env, policy={"first_login_change_password": True}) as wx:
        await wx.put_account("E001", name="张三", position="采购经理")
        rows = [["工号", "姓名", "职位", "微信号", "类型"], ["E001", "张三", "采购总监", "zhangsan_wx", "员工"],
                ["E002", "李四", "会计", "lisi_88", "员工"], ["E003", "王五", "仓库主管", "", "员工"],
                ["S001", "赵六", "供应商联系人", "zhao6", "供应商"], ["", "孙七", "司机", "", "员工"]]
        async with chromium(wx.g.base_url) as b:
            page = await operator_page(b)
            await page.goto(b.url("/console/t/acme/people/import"))
            await page.set_input_files("#file", {"name": "人员.xlsx", "mimeType": XLSX, "buffer": xlsx_bytes(rows)})
            await page.click("#upload")
            await expect(page.locator("#preview tbody tr")).to_have_count(5)
            await expect(page.locator("#col-wechat option:checked")).to_have_text("微信号")
            await page.click("#dry-run")
            await expect(page.locator("#bad-rows tbody tr")).to_have_count(1)
            await expect(page.locator("#bad-rows tr[data-row='6']")).to_contain_text("账号为空")
            await shot(page, "console-import-dry-run")
            # The sheet fixed and uploaded again as CSV (GB18030, as Excel on Chinese Windows saves it).
            await page.goto(b.url("/console/t/acme/people/import"))
            fixed = [r for r in rows if r[0]]
            await page.set_input_files("#file", {"name": "人员.csv", "mimeType": "text/csv",
                                                 "buffer": csv_bytes(fixed, "gb18030")})
            await page.click("#upload")
            await page.check("input[name=mode][value=generate]")
            await page.click("#dry-run")
            await expect(page.locator("#plan-new")).to_have_text("3")
            await expect(page.locator("#plan-existing")).to_have_text("1")
            await shot(page, "console-import-preview")
            await page.click("#run-import")
            await expect(page.locator("#created")).to_have_text("3")
            await shot(page, "console-import-done")
            async with page.expect_download() as waiting:
                await page.click("#download")
            download = await waiting.value
            saved = tmp_path / "passwords.csv"
            await download.save_as(saved)
            sheet = list(csv.reader(io.StringIO(saved.read_bytes().decode("utf-8-sig"))))
            assert [r[0] for r in sheet[1:]] == ["E002", "E003", "S001"]
            assert (await page.request.get(b.url(await page.locator("#download").get_attribute("href")))).status == 404
            await page.click("#to-people")
            await expect(page.locator("tr[data-login='E002'] .wechat-id")).to_contain_text("lisi_88")
            await expect(page.locator("tr[data-login='E001'] td").nth(2)).to_have_text("采购总监")
            await shot(page, "console-people-wechat")
        phone = wx.phone()
        assert (await phone.sign_in("E002", sheet[1][2], openid="o_e002")).status == 200


async def test_logs_in_chromium(env) -> None:
    async with wechat_env(env) as wx:
        await wx.put_account("zhangsan", name="张三")
        await wx.put_account("lisi", name="李四")
        for login, openid in (("zhangsan", "o_zhang"), ("lisi", "o_li")):
            phone = wx.phone()
            assert (await phone.sign_in(login, PASSWORD, openid=openid)).status == 200
        wrong = wx.phone()
        assert (await wrong.sign_in("lisi", "wrong-password", openid="o_bad")).status == 401
        async with chromium(wx.g.base_url) as b:
            page = await operator_page(b)
            await page.goto(b.url("/console/t/acme/logs/mobile"))
            await expect(page.locator("#log tbody tr").first).to_have_attribute("data-action", "login.failed")
            await expect(page.locator("#log tbody tr[data-action='login.failed'] .pill")).to_have_text("安全")
            await shot(page, "console-log-mobile")
            await page.fill("#log-filter input[name=person]", "zhangsan")
            await page.select_option("#log-filter select[name=kind]", "account.bound")
            await page.click("#log-filter button[type=submit]")
            await expect(page.locator("#log tbody tr")).to_have_count(1)
            async with page.expect_download() as waiting:
                await page.click("#export")
            download = await waiting.value
            assert re.match(r"acme-mobile-log\.csv", download.suggested_filename)
            await page.goto(b.url("/console/t/acme/logs/system"))
            await expect(page.locator("#log tbody tr[data-action='account.created']")).to_have_count(2)
            await shot(page, "console-log-system")
