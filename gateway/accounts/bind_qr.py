"""Scan-to-bind: the tenant's business system asks for a temporary parametric QR code for one of
its accounts; its scene is a random single-use token. The scan (SCAN, or subscribe with
qrscene_) is answered with a link to a confirmation page, and the confirmation binds the
scanning WeChat user to the account under the same rules as a sign-in."""
from __future__ import annotations

import asyncio
import io
import logging
import re
import secrets
from dataclasses import dataclass
from typing import Any, Awaitable, Callable, Protocol, TypeVar
from urllib.parse import quote

import segno

from gateway.accounts.bindings import BindingStore, BindRefused
from gateway.accounts.sessions import SessionStore
from gateway.platform.audit import AuditLog
from gateway.platform.clock import Clock, iso
from gateway.platform.errors import Conflict, NotFound, Unavailable
from gateway.platform.links import entry_url
from gateway.platform.tenant import Tenant
from gateway.storage import Row, Storage
from gateway.wechat.api.client import WeChatHttp
from gateway.wechat.api.errors import WeChatError
from gateway.wechat.api.qrcode import create_temporary_qr

log = logging.getLogger(__name__)
T = TypeVar("T")

TTL_SECONDS = 600
SCENE_PREFIX = "bind:"
TOKEN_RE = re.compile(r"^[A-Za-z0-9_-]{32}$")
MAX_TICKET_CHARS = 191


class TokenCaller(Protocol):
    """The token centre's call: fn(access_token), retried with a fresh token when WeChat refuses it."""
    async def call(self, tenant: Tenant, fn: Callable[[str], Awaitable[T]]) -> T: ...


class AccountRows(Protocol):
    async def row(self, tenant: Tenant, login: str) -> Row | None: ...

    async def row_by_id(self, tenant: Tenant, account_id: int) -> Row | None: ...


class BindQrProblem(Exception):
    """Why a scanned code cannot be confirmed: `reason` is expired, used, cancelled, not_yours,
    unknown, departed or pending; `message` says it to the person in plain Chinese."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(reason)
        self.reason, self.message = reason, message


_MESSAGES = {
    "unknown": "这个绑定二维码无效。请在电脑上重新打开绑定页面，刷新二维码后再扫一次。",
    "expired": "这个绑定二维码已过期（有效期 10 分钟）。请在电脑上刷新二维码后再扫一次。",
    "used": "这个绑定二维码已经用过了，不能再次使用。如需重新绑定，请在电脑上刷新二维码后再扫。",
    "cancelled": "这次绑定已取消。如需绑定，请在电脑上刷新二维码后再扫一次。",
    "not_yours": "这个绑定二维码已被另一个微信扫描，只有扫码的微信可以确认。请在电脑上刷新二维码后再扫。",
    "departed": "这个账号已停用，不能绑定微信。如有疑问，请联系单位管理员。",
    "pending": "这个账号还在等待单位审批，审批通过后才能绑定微信。",
}


def problem(reason: str) -> BindQrProblem:
    return BindQrProblem(reason, _MESSAGES[reason])


def qr_png(content: str) -> bytes:
    """The QR code of `content` as a PNG (CPU work: run it in an executor)."""
    out = io.BytesIO()
    segno.make(content, error="m").save(out, kind="png", scale=8, border=4)
    return out.getvalue()


@dataclass(frozen=True)
class Confirmed:
    """A confirmed scan: the binding made and the session token of the scanning WeChat user."""
    login: str
    name: str
    session_token: str


class BindQrService:
    def __init__(self, storage: Storage, clock: Clock, tokens: TokenCaller, http: WeChatHttp,
                 accounts: AccountRows, bindings: BindingStore, sessions: SessionStore, audit: AuditLog,
                 public_url: str) -> None:
        self.storage, self.clock, self.tokens, self.http = storage, clock, tokens, http
        self.accounts, self.bindings, self.sessions, self.audit = accounts, bindings, sessions, audit
        self.public_url = public_url

    # ---- the tenant API ------------------------------------------------------------------------
    async def create(self, tenant: Tenant, login: str, actor: str) -> dict[str, Any]:
        """A new code for an active account: 404 for an unknown login, 409 for a departed or
        pending one, 503 when WeChat does not answer."""
        account = await self.accounts.row(tenant, login)
        if account is None:
            raise NotFound("no such account", {"login": login})
        if account["status"] != "active":
            raise Conflict(f"a {account['status']} account cannot be bound",
                           {"login": account["login"], "status": account["status"]})
        token = secrets.token_urlsafe(24)
        try:
            qr = await self.tokens.call(tenant, lambda access: create_temporary_qr(
                self.http, access, SCENE_PREFIX + token, TTL_SECONDS))
        except WeChatError as exc:
            log.warning("qrcode/create failed for tenant %s: errcode %s", tenant.slug, exc.errcode)
            raise Unavailable("WeChat did not create the QR code; try again shortly",
                              {"errcode": exc.errcode}) from None
        if not qr.ticket or len(qr.ticket) > MAX_TICKET_CHARS:
            raise Unavailable("WeChat answered with an unusable ticket; try again shortly")
        now = self.clock.now()
        expires = now + min(TTL_SECONDS, qr.expire_seconds)
        await self.storage.execute(
            "INSERT INTO bind_qr (tenant_id, ticket, scene, account_id, qr_url, status, created_at, expires_at)"
            " VALUES (?, ?, ?, ?, ?, 'waiting', ?, ?)",
            (tenant.id, qr.ticket, token, account["id"], qr.url, now, expires))
        await self.audit.record(tenant.id, actor, "bind_qr.created", account["login"], {"expires_at": iso(expires)})
        row = await self._by_ticket(tenant, qr.ticket)
        assert row is not None
        return self.view(tenant, row)

    async def status(self, tenant: Tenant, ticket: str) -> dict[str, Any]:
        row = await self._by_ticket(tenant, ticket)
        if row is None:
            raise NotFound("no such bind QR code of this organisation")
        return self.view(tenant, row)

    def view(self, tenant: Tenant, row: Row) -> dict[str, Any]:
        return {"ticket": row["ticket"], "qr_url": row["qr_url"], "image_url": self.image_url(tenant, row["ticket"]),
                "expires_at": iso(float(row["expires_at"])), "status": self._status(row), "login": row["login"],
                "scanned": row["scanned_at"] is not None,
                "finished_at": iso(float(row["finished_at"])) if row["finished_at"] is not None else None}

    def image_url(self, tenant: Tenant, ticket: str) -> str:
        return f"{self.public_url}/wx/{tenant.slug}/bind-qr.png?ticket={quote(ticket, safe='')}"

    async def image(self, tenant: Tenant, ticket: str) -> bytes | None:
        """The PNG of a code still waiting for its scan; None for any other."""
        row = await self._by_ticket(tenant, ticket)
        if row is None or self._status(row) != "waiting":
            return None
        return await asyncio.get_running_loop().run_in_executor(None, qr_png, str(row["qr_url"]))

    # ---- the scan (callback) -------------------------------------------------------------------
    async def scanned(self, tenant: Tenant, openid: str, scene: str) -> str | None:
        """The passive reply to a scan of `scene`; None when the scene is no bind code."""
        if not scene.startswith(SCENE_PREFIX):
            return None
        token = scene[len(SCENE_PREFIX):]
        try:
            row = await self._claimable(tenant, token, openid, claiming=True)
        except BindQrProblem as refused:
            return refused.message
        if row["scanned_openid"] is None:
            claimed = await self.storage.execute(
                "UPDATE bind_qr SET scanned_openid = ?, scanned_at = ? WHERE tenant_id = ? AND id = ?"
                " AND status = 'waiting' AND scanned_openid IS NULL", (openid, self.clock.now(), tenant.id, row["id"]))
            if not claimed.rowcount:  # another WeChat user's scan got there first
                return await self.scanned(tenant, openid, scene)
            await self.audit.record(tenant.id, "wechat", "bind_qr.scanned", row["login"], {"openid": openid})
        link = entry_url(self.public_url, tenant.slug, self.page(token))
        return f"将此微信绑定到 {row['name']}（{row['login']}）？\n请点击链接确认或取消（10 分钟内有效）：\n{link}"

    @staticmethod
    def page(token: str) -> str:
        return f"bind/{token}"

    # ---- the confirmation page -----------------------------------------------------------------
    async def describe(self, tenant: Tenant, token: str, openid: str) -> dict[str, str]:
        """What the confirmation page shows to the WeChat user who scanned; else BindQrProblem."""
        row = await self._claimable(tenant, token, openid)
        return {"login": str(row["login"]), "name": str(row["name"])}

    async def confirm(self, tenant: Tenant, token: str, openid: str) -> Confirmed:
        """Bind the scanning WeChat user to the account (moving any earlier binding of either), once."""
        row = await self._claimable(tenant, token, openid)
        now = self.clock.now()
        won = await self.storage.execute(
            "UPDATE bind_qr SET status = 'bound', finished_at = ? WHERE tenant_id = ? AND id = ?"
            " AND status = 'waiting' AND scanned_openid = ? AND expires_at > ?",
            (now, tenant.id, row["id"], openid, now))
        if not won.rowcount:
            raise problem("used")
        try:
            binding_id = await self.bindings.bind(tenant, int(row["account_id"]), str(row["login"]), openid,
                                                  actor=str(row["login"]), require_active=True)
        except BindRefused as refused:
            await self._finish(tenant, row["id"], "used")
            raise problem("departed" if refused.reason == "departed" else "pending") from None
        except BaseException:
            await self._finish(tenant, row["id"], "waiting")  # not used: the person may try again
            raise
        # Other codes of this account still waiting must not bind anyone else now.
        await self.storage.execute(
            "UPDATE bind_qr SET status = 'used', finished_at = ? WHERE tenant_id = ? AND account_id = ?"
            " AND status = 'waiting'", (now, tenant.id, row["account_id"]))
        await self.audit.record(tenant.id, str(row["login"]), "bind_qr.confirmed", str(row["login"]),
                                {"openid": openid, "binding": binding_id})
        token_value = self.sessions.issue(tenant, int(row["account_id"]), str(row["login"]), openid, binding_id)
        return Confirmed(str(row["login"]), str(row["name"]), token_value)

    async def cancel(self, tenant: Tenant, token: str, openid: str) -> None:
        row = await self._claimable(tenant, token, openid)
        changed = await self.storage.execute(
            "UPDATE bind_qr SET status = 'cancelled', finished_at = ? WHERE tenant_id = ? AND id = ?"
            " AND status = 'waiting'", (self.clock.now(), tenant.id, row["id"]))
        if not changed.rowcount:
            raise problem("used")
        await self.audit.record(tenant.id, str(row["login"]), "bind_qr.cancelled", str(row["login"]),
                                {"openid": openid})

    # ---- reading -------------------------------------------------------------------------------
    def _status(self, row: Row) -> str:
        if row["status"] == "waiting" and self.clock.now() >= float(row["expires_at"]):
            return "expired"
        return str(row["status"])

    async def _claimable(self, tenant: Tenant, token: str, openid: str, claiming: bool = False) -> Row:
        """The code of `token` while this WeChat user may still use it (when `claiming`, also
        before anyone scanned it), with its account; else BindQrProblem."""
        row = await self._by_scene(tenant, token) if TOKEN_RE.match(token) else None
        if row is None:
            raise problem("unknown")
        status = self._status(row)
        if status == "bound":
            raise problem("used")
        if status != "waiting":
            raise problem(status)
        if row["scanned_openid"] != openid and not (claiming and row["scanned_openid"] is None):
            raise problem("not_yours" if row["scanned_openid"] else "unknown")
        if row["account_status"] != "active":
            raise problem("departed" if row["account_status"] in (None, "departed") else "pending")
        return row

    _SELECT = ("SELECT q.*, a.login, a.name, a.status AS account_status FROM bind_qr q"
               " JOIN accounts a ON a.id = q.account_id AND a.tenant_id = q.tenant_id")

    async def _by_ticket(self, tenant: Tenant, ticket: str) -> Row | None:
        if not ticket or len(ticket) > MAX_TICKET_CHARS:
            return None
        return await self.storage.fetchone(f"{self._SELECT} WHERE q.tenant_id = ? AND q.ticket = ?",
                                           (tenant.id, ticket))

    async def _by_scene(self, tenant: Tenant, token: str) -> Row | None:
        return await self.storage.fetchone(f"{self._SELECT} WHERE q.tenant_id = ? AND q.scene = ?",
                                           (tenant.id, token))

    async def _finish(self, tenant: Tenant, qr_id: int, status: str) -> None:
        finished = None if status == "waiting" else self.clock.now()
        await self.storage.execute("UPDATE bind_qr SET status = ?, finished_at = ? WHERE tenant_id = ? AND id = ?",
                                   (status, finished, tenant.id, qr_id))
