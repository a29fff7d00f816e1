"""Bulk import of a tenant's accounts from .csv or .xlsx, whose header row uses the tenant's
`people` column names: every row is checked first (any problem: 422, nothing written), then
all rows are upserted in one transaction. Imported accounts get no password (see README).
Reading and checking run on one dedicated thread, within fixed bounds of parts, rows and cells."""
from __future__ import annotations

import asyncio
import csv
import io
import zipfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from gateway.accounts.wechat_ids import store_wechat_ids, wechat_id_problem
from gateway.accounts.rules import KINDS, login_problem, normalise_login, text_problem
from gateway.platform.audit import AuditLog
from gateway.platform.clock import Clock
from gateway.platform.errors import Invalid, InvalidRows, TooLarge
from gateway.platform.tenant import Tenant
from gateway.storage import Storage

MAX_ROWS = 100_000
MAX_COLUMNS = 64            # columns read from each row; the header's width if narrower
MAX_CELLS = 1_000_000       # cells kept (rows x columns read)
MAX_SHEET_CELLS = 2_000_000  # cells in the sheet's XML, empty or beyond the header included
MAX_ROW_CELLS = 16_384       # Excel's own column limit (XFD)
MAX_SHEET_BYTES = 64 << 20   # uncompressed sizes of the workbook's parts
MAX_STRINGS_BYTES = 16 << 20
MAX_PART_BYTES = 2 << 20
CHUNK = 500
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV_TYPES = ("text/csv", "application/csv", "text/comma-separated-values")
KIND_HEADERS = ("kind", "类型")
KIND_ALIASES = {"employee": "employee", "员工": "employee", "customer": "customer", "客户": "customer",
                "supplier": "supplier", "供应商": "supplier"}
PASSWORD_HEADERS = ("password", "密码", "初始密码")


def file_kind(content_type: str | None, filename: str | None = None) -> str | None:
    """"csv", "xlsx" or None, from the part's file name or else its content type."""
    name = (filename or "").lower()
    if name.endswith(".csv"):
        return "csv"
    if name.endswith(".xlsx"):
        return "xlsx"
    ctype = (content_type or "").split(";")[0].strip().lower()
    if ctype in CSV_TYPES:
        return "csv"
    if ctype == XLSX_TYPE:
        return "xlsx"
    return None


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # a 工号 typed as a number must not become "1001.0"
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    return str(value).strip()


def _too_large(what: str) -> TooLarge:
    return TooLarge(f"the file is too large to import ({what}); split it into smaller files")


def _check_parts(archive: zipfile.ZipFile) -> None:
    """Refuse parts whose declared size is too large (zipfile stops reading at that size, so a
    zip bomb cannot hide behind it): openpyxl reads shared strings and styles whole."""
    for info in archive.infolist():
        name = info.filename.lower()
        limit = (MAX_SHEET_BYTES if name.startswith("xl/worksheets/") else
                 MAX_STRINGS_BYTES if name.endswith("sharedstrings.xml") else MAX_PART_BYTES)
        if info.file_size > limit:
            raise _too_large(f"{info.filename} unpacks to more than {limit >> 20} MB")


def _scan_sheet(archive: zipfile.ZipFile, path: str) -> None:
    """Count the sheet's cells with a streaming parser before openpyxl sees it: openpyxl builds
    every cell of a row in memory, however many the XML holds (a few KB can hold a million)."""
    import xml.parsers.expat
    counts = {"cells": 0, "row": 0}

    def start(tag: str, _attrs: dict[str, str]) -> None:
        local = tag.rsplit(" ", 1)[-1]
        if local == "row":
            counts["row"] = 0
        elif local == "c":
            counts["cells"] += 1
            counts["row"] += 1
            if counts["row"] > MAX_ROW_CELLS:
                raise _too_large(f"a row has more than {MAX_ROW_CELLS} cells")
            if counts["cells"] > MAX_SHEET_CELLS:
                raise _too_large(f"more than {MAX_SHEET_CELLS} cells")

    def refuse(*_args: object) -> None:
        raise Invalid("the file is not a readable .xlsx workbook")

    parser = xml.parsers.expat.ParserCreate(namespace_separator=" ")
    parser.StartElementHandler = start
    parser.StartDoctypeDeclHandler = refuse  # a worksheet has no DTD; entities are an attack
    parser.EntityDeclHandler = refuse
    try:
        with archive.open(path.lstrip("/")) as stream:
            parser.ParseFile(stream)
    except (xml.parsers.expat.ExpatError, KeyError, zipfile.BadZipFile, OSError):
        raise Invalid("the file is not a readable .xlsx workbook") from None


def _read_xlsx(data: bytes) -> list[list[str]]:
    import openpyxl
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        _check_parts(archive)
        book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, ValueError, OSError, TypeError):
        raise Invalid("the file is not a readable .xlsx workbook") from None
    try:
        if not book.worksheets:
            raise Invalid("the workbook has no sheet")
        sheet = book.worksheets[0]
        _scan_sheet(archive, sheet._worksheet_path)
        # The sheet's <dimension> is the writer's claim, not a fact: without resetting it, one
        # saying A1:XFD2001 makes openpyxl pad every row to 16,384 cells.
        sheet.reset_dimensions()
        first = next(iter(sheet.iter_rows(min_row=1, max_row=1, max_col=MAX_COLUMNS, values_only=True)), ())
        header = [_cell(v) for v in first]
        while header and not header[-1]:
            header.pop()
        width = max(1, len(header))
        rows: list[list[str]] = [header]
        for values in sheet.iter_rows(min_row=2, max_col=width, values_only=True):
            rows.append([_cell(v) for v in values])
            if len(rows) > MAX_ROWS + 1:
                break
            if len(rows) * width > MAX_CELLS:
                raise _too_large(f"more than {MAX_CELLS} cells")
        return rows
    finally:
        book.close()


def _read_csv(data: bytes) -> list[list[str]]:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        try:
            text = data.decode("gb18030")  # what Excel on a Chinese Windows saves as "CSV"
        except UnicodeDecodeError:
            raise Invalid("the CSV file must be UTF-8 (or GB18030) text") from None
    rows: list[list[str]] = []
    cells = 0
    try:
        for row in csv.reader(io.StringIO(text, newline="")):
            rows.append([cell.strip() for cell in row[:MAX_COLUMNS]])
            cells += len(rows[-1])
            if len(rows) > MAX_ROWS + 1:
                break
            if cells > MAX_CELLS:
                raise _too_large(f"more than {MAX_CELLS} cells")
    except csv.Error:
        raise Invalid("the file is not valid CSV") from None
    return rows


def read_table(data: bytes, kind: str) -> list[list[str]]:
    """The file as rows of strings, at most MAX_COLUMNS wide (blocking: run it in an executor)."""
    return _read_xlsx(data) if kind == "xlsx" else _read_csv(data)


@dataclass
class ImportRow:
    row: int
    login: str
    key: str
    name: str
    position: str | None
    kind: str | None
    wechat: str | None = None


def check_table(tenant: Tenant, table: list[list[str]]) -> tuple[list[ImportRow], bool, bool]:
    """Rows to write, and whether the file has position / kind columns; raises InvalidRows listing
    every row's problems (row numbers as in the spreadsheet, the header being row 1)."""
    if not table or not any(table[0]):
        raise InvalidRows("the file is empty", {"rows": [{"row": 1, "problems": ["no header row"]}]})
    if len(table) - 1 > MAX_ROWS:
        raise TooLarge(f"at most {MAX_ROWS} rows can be imported at once")
    people = tenant.people
    header = [h.strip() for h in table[0]]
    where = {h: i for i, h in reversed(list(enumerate(header))) if h}
    header_problems = [f"missing column {people[c]}" for c in ("login_column", "name_column")
                       if people[c] not in where]
    header_problems += [f"column {h} is not imported: set passwords with PUT /accounts/{{login}}"
                        for h in header if h.lower() in PASSWORD_HEADERS]
    if header_problems:
        raise InvalidRows("the header row is not usable", {"rows": [{"row": 1, "problems": header_problems}]})
    login_at, name_at = where[people["login_column"]], where[people["name_column"]]
    position_at = where.get(people["position_column"])
    wechat_at = where.get(people["wechat_column"])
    kind_at = next((where[h] for h in KIND_HEADERS if h in where), None)

    def cell(values: list[str], index: int | None) -> str:
        return values[index] if index is not None and index < len(values) else ""

    rows: list[ImportRow] = []
    bad: list[dict[str, Any]] = []
    seen: dict[str, int] = {}
    for number, values in enumerate(table[1:], start=2):
        if not any(v.strip() for v in values):
            continue
        login, name = cell(values, login_at).strip(), cell(values, name_at).strip()
        position = cell(values, position_at).strip() if position_at is not None else None
        raw_kind = cell(values, kind_at).strip() if kind_at is not None else ""
        kind = KIND_ALIASES.get(raw_kind.lower()) if raw_kind else None
        problems = [p for p in (login_problem(login), text_problem(people["name_column"], name, True),
                                text_problem(people["position_column"], position, False)) if p]
        wechat_problem = wechat_id_problem(cell(values, wechat_at).strip()) if wechat_at is not None else None
        if wechat_problem:
            problems.append(wechat_problem.split(" / ")[-1])
        if raw_kind and kind not in KINDS:
            problems.append(f"kind must be one of {', '.join(KINDS)}")
        key = normalise_login(login) if login else ""
        if key and key in seen:
            problems.append(f"login {login} repeats row {seen[key]}")
        elif key:
            seen[key] = number
        if problems:
            bad.append({"row": number, "problems": problems})
        else:
            wechat = cell(values, wechat_at).strip() if wechat_at is not None else None
            rows.append(ImportRow(number, login, key, name, position, kind, wechat))
    if bad:
        raise InvalidRows(f"{len(bad)} rows have problems; nothing was imported", {"rows": bad})
    return rows, position_at is not None, kind_at is not None


_reader: ThreadPoolExecutor | None = None


def _read_and_check(tenant: Tenant, data: bytes, kind: str) -> tuple[list[ImportRow], bool, bool]:
    return check_table(tenant, read_table(data, kind))


def import_thread() -> ThreadPoolExecutor:
    """One thread: imports are rare and heavy, so they queue rather than take the default pool
    (and its memory) from everything else."""
    global _reader
    if _reader is None:
        _reader = ThreadPoolExecutor(max_workers=1, thread_name_prefix="gw-import")
    return _reader


async def read_in_thread(data: bytes, kind: str) -> list[list[str]]:
    return await asyncio.get_running_loop().run_in_executor(import_thread(), read_table, data, kind)


async def import_accounts(storage: Storage, audit: AuditLog, clock: Clock, tenant: Tenant, data: bytes,
                          kind: str, actor: str) -> dict[str, int]:
    rows, has_position, has_kind = await asyncio.get_running_loop().run_in_executor(
        import_thread(), _read_and_check, tenant, data, kind)
    existing: set[str] = set()
    pending: set[str] = set()
    keys = [r.key for r in rows]
    for start in range(0, len(keys), CHUNK):
        chunk = keys[start:start + CHUNK]
        found = await storage.fetchall(
            f"SELECT login_key, status FROM accounts WHERE tenant_id = ? AND login_key IN ({', '.join('?' * len(chunk))})",
            (tenant.id, *chunk))
        existing.update(r["login_key"] for r in found)
        pending.update(r["login_key"] for r in found if r["status"] == "pending")
    if pending:
        # As PUT answers 409: a stranger's self-registration is approved or refused deliberately.
        bad = [{"row": r.row, "problems": [f"login {r.login} is a pending self-registration: approve or"
                                              " refuse it first"]} for r in rows if r.key in pending]
        raise InvalidRows(f"{len(bad)} rows have problems; nothing was imported", {"rows": bad})
    updates = ["name"] + (["position"] if has_position else []) + (["kind"] if has_kind else []) + ["updated_at"]
    if storage.dialect == "mysql":
        upsert = "ON DUPLICATE KEY UPDATE " + ", ".join(f"{c} = VALUES({c})" for c in updates)
    else:
        upsert = "ON CONFLICT (tenant_id, login_key) DO UPDATE SET " + ", ".join(f"{c} = excluded.{c}" for c in updates)
    now = clock.now()
    async with storage.transaction() as tx:
        for start in range(0, len(rows), CHUNK):
            chunk_rows = rows[start:start + CHUNK]
            params: list[Any] = []
            for r in chunk_rows:
                params += [tenant.id, r.login, r.key, r.name, r.kind or "employee", r.position or "", now, now]
            values = ", ".join(["(?, ?, ?, ?, ?, ?, 'active', 0, ?, ?)"] * len(chunk_rows))
            await tx.execute(
                "INSERT INTO accounts (tenant_id, login, login_key, name, kind, position, status,"
                f" must_change_password, created_at, updated_at) VALUES {values} {upsert}", params)
        if any(r.wechat is not None for r in rows):
            await store_wechat_ids(tx, tenant.id, [(r.key, r.wechat or "") for r in rows])
        created = sum(1 for r in rows if r.key not in existing)
        result = {"created": created, "updated": len(rows) - created}
        await audit.record(tenant.id, actor, "accounts.imported", "", {**result, "format": kind}, ex=tx)
    return result
