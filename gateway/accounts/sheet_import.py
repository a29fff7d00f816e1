"""The console's import of a people sheet in steps: upload (kept sealed for an hour), preview with
the column mapping, dry run (every bad row, nothing written), then the import, all or nothing.
New accounts get their first password from a column, one password for all, or a generated one
per account (handed out once as a sheet); an import never changes an existing account's password
or status, and never touches a pending self-registration."""
from __future__ import annotations

import asyncio
import json
import secrets
import zlib
from dataclasses import dataclass
from typing import Any

from gateway.accounts.import_mapping import Mapping_, guess_mapping, mapping_problems, remembered_form
from gateway.accounts.importer import CHUNK, read_in_thread
from gateway.accounts.initial_password import strong_password
from gateway.accounts.passwords import HasherOverloaded, PasswordHasher, Requester
from gateway.accounts.wechat_ids import store_wechat_ids
from gateway.accounts.sheet_check import PASSWORD_MODES, SheetPlan, SheetRow, check_sheet, sheet_logins
from gateway.platform.audit import AuditLog
from gateway.platform.clock import Clock
from gateway.platform.csv_export import csv_text
from gateway.platform.errors import Invalid, InvalidRows, NotFound, TooLarge
from gateway.platform.secretbox import SecretBox
from gateway.platform.tenant import Tenant
from gateway.platform.tenant_state import TenantState
from gateway.storage import Executor, Storage

KEEP_SECONDS = 3600.0
MAX_UPLOAD_BYTES = 8 << 20
PREVIEW_ROWS = 10
HASH_BATCH = 8          # hashes in flight at once: well within one requester's share of the queue
MAPPING_STATE = "import_mapping"


@dataclass
class Preview:
    header: list[str]
    rows: list[list[str]]
    total: int
    mapping: Mapping_


@dataclass
class ImportResult:
    created: int
    updated: int
    passwords_token: str | None


def _kind_of(filename: str, data: bytes) -> str:
    name = filename.lower()
    if name.endswith(".xlsx") or data[:4] == b"PK\x03\x04":
        return "xlsx"
    if name.endswith((".csv", ".txt")) or not name:
        return "csv"
    raise Invalid("只能导入 .csv 或 .xlsx 文件 / only .csv or .xlsx files can be imported")


class SheetImport:
    def __init__(self, storage: Storage, clock: Clock, audit: AuditLog, box: SecretBox, hasher: PasswordHasher,
                 state: TenantState) -> None:
        self.storage, self.clock, self.audit, self.box = storage, clock, audit, box
        self.hasher, self.state = hasher, state

    # ---- the sealed uploads ------------------------------------------------------------------
    def _context(self, tenant: Tenant, token: str, purpose: str) -> str:
        return f"import:{purpose}:{tenant.id}:{token}"

    async def _keep(self, tenant: Tenant, purpose: str, payload: bytes) -> str:
        token = secrets.token_urlsafe(18)
        now = self.clock.now()
        await self.storage.execute("DELETE FROM import_uploads WHERE tenant_id = ? AND created_at < ?",
                                   (tenant.id, now - KEEP_SECONDS))
        sealed = self.box.seal(zlib.compress(payload), self._context(tenant, token, purpose))
        await self.storage.execute(
            "INSERT INTO import_uploads (tenant_id, token, purpose, sealed, created_at) VALUES (?, ?, ?, ?, ?)",
            (tenant.id, token, purpose, sealed, now))
        return token

    async def _load(self, tenant: Tenant, token: str, purpose: str) -> bytes:
        row = await self.storage.fetchone(
            "SELECT sealed, created_at FROM import_uploads WHERE tenant_id = ? AND token = ? AND purpose = ?",
            (tenant.id, token, purpose))
        if row is None or row["created_at"] < self.clock.now() - KEEP_SECONDS:
            raise NotFound("上传的文件已过期，请重新上传 / the upload has expired: upload the file again")
        return zlib.decompress(self.box.open(bytes(row["sealed"]), self._context(tenant, token, purpose)))

    async def _drop(self, tenant: Tenant, token: str, ex: Executor | None = None) -> int:
        done = await (ex or self.storage).execute("DELETE FROM import_uploads WHERE tenant_id = ? AND token = ?",
                                                  (tenant.id, token))
        return done.rowcount

    # ---- the steps -----------------------------------------------------------------------------
    async def upload(self, tenant: Tenant, filename: str, data: bytes) -> str:
        """Reads the file (on the import thread) and keeps its rows sealed; returns the upload's token."""
        if len(data) > MAX_UPLOAD_BYTES:
            raise TooLarge(f"文件超过 {MAX_UPLOAD_BYTES >> 20} MB，请分成几个文件导入"
                           f" / the file is over {MAX_UPLOAD_BYTES >> 20} MB: split it")
        if not data.strip():
            raise Invalid("文件是空的 / the file is empty")
        table = await read_in_thread(data, _kind_of(filename, data))
        if not table or not any(cell.strip() for cell in table[0]):
            raise Invalid("第一行必须是表头（列名）/ the first row must be the header")
        return await self._keep(tenant, "sheet", json.dumps(table, ensure_ascii=False).encode())

    async def table(self, tenant: Tenant, token: str) -> list[list[str]]:
        return json.loads(await self._load(tenant, token, "sheet"))

    async def preview(self, tenant: Tenant, token: str) -> Preview:
        table = await self.table(tenant, token)
        remembered = await self.state.get(tenant.id, MAPPING_STATE)
        header = table[0]
        return Preview(header, table[1:1 + PREVIEW_ROWS], len(table) - 1,
                       guess_mapping(header, tenant.people, remembered if isinstance(remembered, dict) else None))

    async def check(self, tenant: Tenant, token: str, mapping: Mapping_, mode: str,
                    same_password: str) -> SheetPlan:
        """The dry run: every bad row with its reasons, and what the import would do; writes nothing."""
        table = await self.table(tenant, token)
        problems = mapping_problems(mapping)
        if mode not in PASSWORD_MODES:
            problems.append("请选择初始密码的来源 / choose where initial passwords come from")
        elif mode == "column" and mapping.get("password") is None:
            problems.append("请指定密码列，或选择其他初始密码方式 / choose the password column or another way")
        if problems:
            raise Invalid(problems[0], {"problems": problems})
        existing = await self._existing(tenant, table, mapping)
        return check_sheet(tenant, table, mapping, mode, same_password, existing)

    async def _existing(self, tenant: Tenant, table: list[list[str]], mapping: Mapping_,
                        ex: Executor | None = None) -> dict[str, str]:
        keys = sheet_logins(table, mapping)
        found: dict[str, str] = {}
        for start in range(0, len(keys), CHUNK):
            chunk = keys[start:start + CHUNK]
            rows = await (ex or self.storage).fetchall(
                "SELECT login_key, status FROM accounts WHERE tenant_id = ?"
                f" AND login_key IN ({', '.join('?' * len(chunk))})", (tenant.id, *chunk))
            found.update({r["login_key"]: r["status"] for r in rows})
        return found

    async def run(self, tenant: Tenant, token: str, mapping: Mapping_, mode: str, same_password: str,
                  actor: str) -> ImportResult:
        plan = await self.check(tenant, token, mapping, mode, same_password)
        if plan.bad:
            raise InvalidRows(f"{len(plan.bad)} 行有问题，没有导入任何数据 / {len(plan.bad)} rows have problems;"
                              " nothing was imported", {"rows": plan.bad})
        table = await self.table(tenant, token)
        fresh = [r for r in plan.rows if r.is_new]
        generated: dict[str, str] = {}
        if mode == "generate":
            generated = {r.key: strong_password() for r in fresh}
        hashes = await self._hash_all(tenant, {r.key: generated.get(r.key) or r.password for r in fresh})
        must_change = bool(tenant.policy["first_login_change_password"])
        async with self.storage.transaction() as tx:
            # Read again under the transaction: an account created since the dry run is updated,
            # its password and status untouched, and left out of the generated sheet.
            existing = await self._existing(tenant, table, mapping, tx)
            if any(existing.get(r.key) == "pending" for r in plan.rows):
                raise InvalidRows("a pending self-registration appeared; nothing was imported",
                                  {"rows": [{"row": r.row, "login": r.login, "problems": [
                                      "这是待审核的自助注册 / a pending self-registration"]}
                                      for r in plan.rows if existing.get(r.key) == "pending"]})
            await self._write(tx, tenant, plan.rows, mapping, hashes, existing, must_change)
            created = sum(1 for r in plan.rows if r.key not in existing)
            result = {"created": created, "updated": len(plan.rows) - created}
            await self.audit.record(tenant.id, actor, "accounts.imported", "",
                                    {**result, "source": "console", "initial_passwords": mode,
                                     "must_change_password": must_change}, ex=tx)
            await self._drop(tenant, token, tx)
        await self.state.set(tenant.id, MAPPING_STATE, remembered_form(table[0], mapping))
        sheet_token = None
        made = [(r.login, r.name, generated[r.key]) for r in plan.rows if r.key in generated and r.key not in existing]
        if made:
            sheet = csv_text([("账号 login", "姓名 name", "初始密码 initial password"), *made], bom=True)
            sheet_token = await self._keep(tenant, "passwords", sheet.encode("utf-8"))
        return ImportResult(result["created"], result["updated"], sheet_token)

    async def waiting_sheets(self, tenant: Tenant) -> list[tuple[str, float]]:
        """Generated passwords' sheets not downloaded yet (token, made at), newest first: an import
        whose answer never reached the browser (a proxy's timeout) still hands its sheet out once."""
        rows = await self.storage.fetchall(
            "SELECT token, created_at FROM import_uploads WHERE tenant_id = ? AND purpose = 'passwords'"
            " AND created_at >= ? ORDER BY created_at DESC", (tenant.id, self.clock.now() - KEEP_SECONDS))
        return [(str(r["token"]), float(r["created_at"])) for r in rows]

    async def take_passwords(self, tenant: Tenant, token: str) -> bytes:
        """The generated passwords' sheet, once: the row is gone after this (in every process)."""
        data = await self._load(tenant, token, "passwords")
        if await self._drop(tenant, token) != 1:
            raise NotFound("这份密码表已经下载过 / this sheet was downloaded already")
        return data

    async def _hash_all(self, tenant: Tenant, passwords: dict[str, str | None]) -> dict[str, str]:
        """Hashes on the shared hashing threads, a few at a time (never on the event loop, and
        never more than this tenant's share of the queue); waits while the queue is full."""
        todo = [(key, pw) for key, pw in passwords.items() if pw]
        done: dict[str, str] = {}
        requester = Requester(str(tenant.id), "import")

        async def one(key: str, password: str) -> None:
            while True:
                try:
                    done[key] = await self.hasher.hash(password, requester)
                    return
                except HasherOverloaded:
                    await asyncio.sleep(0.05)

        for start in range(0, len(todo), HASH_BATCH):
            await asyncio.gather(*(one(k, p) for k, p in todo[start:start + HASH_BATCH]))
        return done

    async def _write(self, tx: Executor, tenant: Tenant, rows: list[SheetRow], mapping: Mapping_,
                     hashes: dict[str, str], existing: dict[str, str], must_change: bool) -> None:
        now = self.clock.now()
        updates = ["name"] + [c for c, f in (("position", "position"), ("kind", "kind")) if mapping.get(f) is not None]
        if self.storage.dialect == "mysql":
            upsert = "ON DUPLICATE KEY UPDATE " + ", ".join(f"{c} = VALUES({c})" for c in [*updates, "updated_at"])
        else:
            upsert = ("ON CONFLICT (tenant_id, login_key) DO UPDATE SET "
                      + ", ".join(f"{c} = excluded.{c}" for c in [*updates, "updated_at"]))
        for start in range(0, len(rows), CHUNK):
            chunk = rows[start:start + CHUNK]
            params: list[Any] = []
            for r in chunk:
                hashed = hashes.get(r.key) if r.key not in existing else None
                params += [tenant.id, r.login, r.key, r.name, r.kind or "employee", r.position or "", hashed,
                           int(must_change and hashed is not None), now if hashed else None, now, now]
            values = ", ".join(["(?, ?, ?, ?, ?, ?, 'active', ?, ?, ?, ?, ?)"] * len(chunk))
            await tx.execute(
                "INSERT INTO accounts (tenant_id, login, login_key, name, kind, position, status, password_hash,"
                f" must_change_password, password_changed_at, created_at, updated_at) VALUES {values} {upsert}",
                params)
        if mapping.get("wechat") is not None:
            await store_wechat_ids(tx, tenant.id, [(r.key, r.wechat or "") for r in rows])
