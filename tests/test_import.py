"""POST /accounts/import: .csv and .xlsx (raw body or multipart "file") with the tenant's own
column names; a bad file gives 422 listing every bad row and writes nothing; 10,000 rows timed."""
from __future__ import annotations

import io
import time

import openpyxl

from gateway.accounts.importer import XLSX_TYPE
from wechat_env import wechat_env

PEOPLE = {"login_column": "工号", "name_column": "姓名", "position_column": "职位", "wechat_column": "微信号"}


def csv_bytes(rows: list[list[str]], encoding: str = "utf-8") -> bytes:
    return "\r\n".join(",".join(r) for r in rows).encode(encoding)


def xlsx_bytes(rows: list[list[object]]) -> bytes:
    book = openpyxl.Workbook()
    sheet = book.active
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def multipart(filename: str, content_type: str, data: bytes) -> tuple[bytes, str]:
    boundary = "----gwtestboundary7MA4YWxkTrZu0gW"
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{filename}\"\r\n"
            f"Content-Type: {content_type}\r\n\r\n").encode() + data + f"\r\n--{boundary}--\r\n".encode()
    return body, f"multipart/form-data; boundary={boundary}"


async def post_file(wx, data: bytes, content_type: str, slug: str = "acme"):
    return await wx.tenant_api("POST", "/accounts/import", raw=data, headers={"Content-Type": content_type},
                               slug=slug)


async def count_accounts(wx) -> int:
    return int(await wx.g.gw.storage.fetchval("SELECT COUNT(*) FROM accounts"))


async def test_csv_import_creates_and_updates(env):
    async with wechat_env(env) as wx:
        await wx.put_account("E001", "Tr0ub4dor&3x!", name="旧名字")
        data = csv_bytes([["工号", "姓名", "职位", "微信号", "备注"],
                          ["E001", "张三", "经理", "zs_wx", "x"],
                          ["E002", "李四", "", "", ""],
                          ["", "", "", "", ""],
                          ["e003", "王五", "会计", "", ""]])
        r = await post_file(wx, b"\xef\xbb\xbf" + data, "text/csv; charset=utf-8")
        assert r.status == 200, r.text
        assert r.json == {"created": 2, "updated": 1}
        e1 = (await wx.tenant_api("GET", "/accounts/e001")).json
        assert (e1["name"], e1["position"], e1["status"], e1["kind"]) == ("张三", "经理", "active", "employee")
        e3 = (await wx.tenant_api("GET", "/accounts/E003")).json
        assert e3["login"] == "e003" and e3["position"] == "会计"
        r = await post_file(wx, data, "text/csv")
        assert r.json == {"created": 0, "updated": 3}
        audit = [e for e in await wx.audit() if e["action"] == "accounts.imported"]
        assert audit[-1]["detail"] == {"created": 0, "updated": 3, "format": "csv"}


async def test_bad_file_lists_every_row_and_writes_nothing(env):
    async with wechat_env(env) as wx:
        data = csv_bytes([["工号", "姓名", "职位", "kind"],
                          ["E001", "张三", "经理", ""],
                          ["", "无工号", "", ""],
                          ["E003", "", "", ""],
                          ["e001", "重复", "", ""],
                          ["E005", "王五", "x" * 101, "boss"],
                          ["a/b", "斜杠", "", ""],
                          ["E007", "好的", "", "供应商"]])
        r = await post_file(wx, data, "text/csv")
        assert r.status == 422 and r.json["error"]["code"] == "invalid_rows"
        rows = {item["row"]: item["problems"] for item in r.json["error"]["details"]["rows"]}
        assert sorted(rows) == [3, 4, 5, 6, 7]
        assert "login is required" in rows[3]
        assert any("姓名" in p for p in rows[4])
        assert any("repeats row 2" in p for p in rows[5])
        assert len(rows[6]) == 2
        assert await count_accounts(wx) == 0
        r = await post_file(wx, csv_bytes([["login", "name"], ["a", "b"]]), "text/csv")
        assert r.status == 422
        assert r.json["error"]["details"]["rows"] == [{"row": 1, "problems": ["missing column 工号", "missing column 姓名"]}]
        r = await post_file(wx, csv_bytes([["工号", "姓名", "密码"], ["E1", "A", "secret-pass"]]), "text/csv")
        assert r.status == 422 and "密码" in r.json["error"]["details"]["rows"][0]["problems"][0]
        assert "secret-pass" not in r.text
        assert await count_accounts(wx) == 0


async def test_tenant_column_names_and_kinds(env):
    async with wechat_env(env) as wx:
        await wx.g.admin("PATCH", "/admin/api/tenants/acme", {"people": {"login_column": "Staff No",
                                                                         "name_column": "Full name"}})
        data = csv_bytes([["Full name", "Staff No", "kind"], ["Ann", "S1", "customer"], ["Bob", "S2", "员工"]])
        r = await post_file(wx, data, "text/csv")
        assert r.status == 200, r.text
        assert (await wx.tenant_api("GET", "/accounts/s1")).json["kind"] == "customer"
        assert (await wx.tenant_api("GET", "/accounts/s2")).json["kind"] == "employee"


async def test_xlsx_raw_and_multipart(env):
    async with wechat_env(env) as wx:
        data = xlsx_bytes([["工号", "姓名", "职位"], [1001, "张三", "经理"], [1002.0, "李四", None], [None, None, None]])
        r = await post_file(wx, data, XLSX_TYPE)
        assert r.status == 200, r.text
        assert r.json == {"created": 2, "updated": 0}
        assert (await wx.tenant_api("GET", "/accounts/1002")).json["name"] == "李四"
        body, ctype = multipart("people.xlsx", "application/octet-stream",
                                xlsx_bytes([["工号", "姓名"], ["1001", "张三丰"], ["1003", "王五"]]))
        r = await post_file(wx, body, ctype)
        assert r.status == 200 and r.json == {"created": 1, "updated": 1}
        body, ctype = multipart("people.csv", "text/csv", csv_bytes([["工号", "姓名"], ["1004", "赵六"]]))
        r = await post_file(wx, body, ctype)
        assert r.status == 200 and r.json == {"created": 1, "updated": 0}
        bad = xlsx_bytes([["工号", "姓名"], [1005, None]])
        r = await post_file(wx, bad, XLSX_TYPE)
        assert r.status == 422 and r.json["error"]["details"]["rows"][0]["row"] == 2
        r = await post_file(wx, b"PK\x03\x04 not really a zip", XLSX_TYPE)
        assert r.status == 400
        r = await post_file(wx, b"x", "application/pdf")
        assert r.status == 400
        body, ctype = multipart("people.csv", "text/csv", b"")
        assert (await post_file(wx, body.replace(b'name="file"', b'name="other"'), ctype)).status == 400


async def test_gb18030_csv(env):
    async with wechat_env(env) as wx:
        r = await post_file(wx, csv_bytes([["工号", "姓名"], ["G1", "欧阳娜娜"]], "gb18030"), "text/csv")
        assert r.status == 200
        assert (await wx.tenant_api("GET", "/accounts/G1")).json["name"] == "欧阳娜娜"


async def test_imported_accounts_cannot_sign_in_until_a_password_is_set(env):
    async with wechat_env(env) as wx:
        await post_file(wx, csv_bytes([["工号", "姓名"], ["N1", "新人"]]), "text/csv")
        phone = wx.phone()
        r = await phone.sign_in("N1", "", "o_n1")
        assert r.status == 401 and r.json["error"]["code"] == "bad_credentials"
        await wx.put_account("N1", "Tr0ub4dor&3x!")
        assert (await phone.api("login", {"login": "n1", "password": "Tr0ub4dor&3x!"})).status == 200


async def test_ten_thousand_rows_in_seconds(env):
    async with wechat_env(env) as wx:
        rows = [["工号", "姓名", "职位"]] + [[f"E{i:05d}", f"员工{i}", "职员"] for i in range(10_000)]
        data = csv_bytes(rows)
        started = time.perf_counter()
        r = await post_file(wx, data, "text/csv")
        elapsed = time.perf_counter() - started
        assert r.status == 200 and r.json == {"created": 10_000, "updated": 0}
        xdata = xlsx_bytes(rows)
        started = time.perf_counter()
        r = await post_file(wx, xdata, XLSX_TYPE)
        xelapsed = time.perf_counter() - started
        assert r.status == 200 and r.json == {"created": 0, "updated": 10_000}
        print(f"\nimport of 10,000 rows ({env.backend}): csv create {elapsed:.2f} s, xlsx update {xelapsed:.2f} s")
        assert elapsed < 15 and xelapsed < 20
        assert await count_accounts(wx) == 10_000
        bad = rows + [["E00005", "重复", ""]]
        r = await post_file(wx, csv_bytes(bad), "text/csv")
        assert r.status == 422 and r.json["error"]["details"]["rows"] == [
            {"row": 10_002, "problems": ["login E00005 repeats row 7"]}]


def _with_sheet_xml(data: bytes, edit) -> bytes:  # type: ignore[no-untyped-def]
    """The workbook with its first sheet's XML passed through `edit`."""
    import zipfile
    source = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            part = source.read(info.filename)
            if info.filename == "xl/worksheets/sheet1.xml":
                part = edit(part.decode()).encode()
            target.writestr(info.filename, part)
    return out.getvalue()


def _crafted_dimension(rows: int) -> bytes:
    import re
    data = xlsx_bytes([["工号", "姓名"]] + [[f"D{i:05d}", f"员工{i}"] for i in range(rows)])
    return _with_sheet_xml(data, lambda xml: re.sub(r'<dimension ref="[^"]*"\s*/>',
                                                    f'<dimension ref="A1:XFD{rows + 1}"/>', xml))


def _counting_parsed_cells(monkeypatch) -> list[int]:  # type: ignore[no-untyped-def]
    from openpyxl.worksheet._reader import WorkSheetParser
    parsed = [0]
    real = WorkSheetParser.parse_cell

    def counting(self, element):  # type: ignore[no-untyped-def]
        parsed[0] += 1
        return real(self, element)

    monkeypatch.setattr(WorkSheetParser, "parse_cell", counting)
    return parsed


def test_a_lying_dimension_does_not_widen_the_rows():
    from gateway.accounts.importer import read_table
    data = _crafted_dimension(2000)
    import zipfile
    assert b'<dimension ref="A1:XFD2001"/>' in zipfile.ZipFile(io.BytesIO(data)).read("xl/worksheets/sheet1.xml")
    table = read_table(data, "xlsx")
    assert len(table) == 2001
    assert {len(row) for row in table} == {2}  # not 16,384 cells per row
    assert table[1] == ["D00000", "员工0"]


def test_a_row_of_a_million_empty_cells_is_refused_unparsed(monkeypatch):
    import pytest

    from gateway.accounts.importer import read_table
    from gateway.platform.errors import TooLarge
    head = '<c t="inlineStr"><is><t>工号</t></is></c><c t="inlineStr"><is><t>姓名</t></is></c>'
    data = _with_sheet_xml(xlsx_bytes([["x"]]), lambda xml: xml[:xml.index("<sheetData")]
                           + f'<sheetData><row r="1">{head}{"<c/>" * 1_000_000}</row></sheetData></worksheet>')
    assert len(data) < 50_000  # a few KB compressed
    parsed = _counting_parsed_cells(monkeypatch)
    with pytest.raises(TooLarge):
        read_table(data, "xlsx")
    assert parsed[0] == 0  # refused by the streaming count before openpyxl built any cell


def test_too_many_cells_are_refused(monkeypatch):
    import pytest

    import gateway.accounts.importer as account_import
    from gateway.platform.errors import TooLarge
    monkeypatch.setattr(account_import, "MAX_CELLS", 300)
    rows = [["工号", "姓名", "职位"]] + [[f"E{i}", f"n{i}", "x"] for i in range(150)]
    with pytest.raises(TooLarge):
        account_import.read_table(xlsx_bytes(rows), "xlsx")
    with pytest.raises(TooLarge):
        account_import.read_table(csv_bytes(rows), "csv")


async def test_crafted_dimension_imports_off_the_event_loop(env, monkeypatch):
    import threading

    import gateway.accounts.importer as account_import
    threads: list[int] = []
    real_check = account_import.check_table

    def spying_check(*args, **kwargs):  # type: ignore[no-untyped-def]
        threads.append(threading.get_ident())
        return real_check(*args, **kwargs)

    monkeypatch.setattr(account_import, "check_table", spying_check)
    async with wechat_env(env) as wx:
        r = await post_file(wx, _crafted_dimension(2000), XLSX_TYPE)
        assert r.status == 200, r.text
        assert r.json == {"created": 2000, "updated": 0}
        assert threads and threading.get_ident() not in threads  # read and checked on the import thread
