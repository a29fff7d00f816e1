"""The tenant registry: creates, changes and deletes tenants in storage (secrets sealed),
and keeps every process's in-memory copy current through cache notices and a short poll."""
from __future__ import annotations

import asyncio
import base64
import copy
import json
import logging
import secrets as pysecrets
from dataclasses import asdict
from typing import Any

from gateway.cache import Cache, CacheError
from gateway.platform.clock import Clock
from gateway.platform.errors import Conflict, Invalid, NotFound
from gateway.platform.secretbox import SecretBox
from gateway.storage import DuplicateKey, Executor, Storage, StorageError
from gateway.platform.tenant import SECRET_WECHAT_KEYS, Tenant, TenantSecrets
from gateway.platform.tenant_validation import VERIFY_NAME_RE, mode_problem, replies_problems, tenant_problems
from gateway.platform.token_keys import account_token_keys

log = logging.getLogger(__name__)
CHANNEL = "gateway:tenants"
POLL_SECONDS = 2.0
# Every table holding a tenant's rows (a test checks the schema has no other table with tenant_id).
TENANT_DATA_TABLES = ("outbox", "document_attachments", "document_recipients", "documents", "bindings", "accounts", "webhook_deliveries",
                      "events", "followers", "callback_dedupe", "audit", "tenant_state", "verify_files",
                      "login_failures", "console_accounts", "console_sessions", "bind_qr",
                      "account_sign_ins", "component_authorizers", "document_comments", "account_wechat_ids",
                      "import_uploads", "registration_openids", "refused_registrations")


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386 JSON Merge Patch."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = copy.deepcopy(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def new_api_key() -> str:
    return "gk_" + pysecrets.token_urlsafe(32)


def new_webhook_secret() -> str:
    return "whsec_" + base64.b64encode(pysecrets.token_bytes(32)).decode()


class TenantRegistry:
    def __init__(self, storage: Storage, cache: Cache, box: SecretBox, clock: Clock,
                 allow_private_webhooks: bool = False) -> None:
        self.storage, self.cache, self.box, self.clock = storage, cache, box, clock
        self.allow_private_webhooks = allow_private_webhooks
        self._by_slug: dict[str, Tenant] = {}
        self._by_id: dict[int, Tenant] = {}
        # Rows whose secrets did not open, by slug: (id, revision), so a poll retries one only once it changed.
        self._unloadable: dict[str, tuple[int, int]] = {}
        self._fingerprint: tuple[Any, ...] = ()
        self._poller: asyncio.Task[None] | None = None

    # ---- reading -------------------------------------------------------------------------
    def get(self, slug: str) -> Tenant | None:
        return self._by_slug.get(slug)

    def require(self, slug: str) -> Tenant:
        tenant = self._by_slug.get(slug)
        if tenant is None:
            raise NotFound("no such tenant", {"slug": slug})
        return tenant

    def by_id(self, tenant_id: int) -> Tenant | None:
        return self._by_id.get(tenant_id)

    def logging_switches(self, tenant_id: int) -> dict[str, bool] | None:
        """The tenant's `logging` settings (which of its two logs are recorded); None: no such tenant."""
        tenant = self._by_id.get(tenant_id)
        return None if tenant is None else tenant.logging

    def all(self) -> list[Tenant]:
        return sorted(self._by_slug.values(), key=lambda t: t.id)

    def _row_to_tenant(self, row: dict[str, Any]) -> Tenant:
        sealed = bytes(row["secrets"])
        data = json.loads(self.box.open(sealed, f"tenant:{row['slug']}"))
        config = json.loads(row["config"])
        replies = config.pop("replies", [])
        authorization = config.pop("authorization", None)
        return Tenant(id=row["id"], slug=row["slug"], name=row["name"], config=config,
                      secrets=TenantSecrets(**data), created_at=row["created_at"],
                      updated_at=row["updated_at"], revision=row["revision"], replies=replies,
                      authorization=authorization)

    def _load_row(self, row: dict[str, Any]) -> Tenant | None:
        try:
            tenant = self._row_to_tenant(row)
        except Exception:
            self._unloadable[row["slug"]] = (row["id"], row["revision"])
            log.error("tenant %s could not be loaded (secrets do not open)", row["slug"])
            return None
        self._unloadable.pop(row["slug"], None)
        return tenant

    def _put(self, tenant: Tenant) -> None:
        old = self._by_slug.get(tenant.slug)
        if old is not None:
            self._by_id.pop(old.id, None)
        self._by_slug[tenant.slug] = tenant
        self._by_id[tenant.id] = tenant

    def _drop(self, slug: str) -> None:
        old = self._by_slug.pop(slug, None)
        if old is not None:
            self._by_id.pop(old.id, None)

    async def load_all(self) -> None:
        fingerprint = await self._current_fingerprint()
        rows = await self.storage.fetchall("SELECT * FROM tenants ORDER BY id")
        self._unloadable = {}
        fresh = [tenant for tenant in map(self._load_row, rows) if tenant is not None]
        self._by_slug = {tenant.slug: tenant for tenant in fresh}
        self._by_id = {tenant.id: tenant for tenant in fresh}
        self._fingerprint = fingerprint

    async def load_changed(self) -> None:
        """Reload only the rows that changed since this process read them (new, updated, deleted):
        with thousands of tenants a change costs one decryption, not one per tenant."""
        fingerprint = await self._current_fingerprint()
        current = {row["slug"]: (row["id"], row["revision"])
                   for row in await self.storage.fetchall("SELECT id, slug, revision FROM tenants")}
        for slug in [slug for slug in self._by_slug if slug not in current]:
            self._drop(slug)
        for slug in [slug for slug in self._unloadable if slug not in current]:
            del self._unloadable[slug]
        changed = [ident for slug, (ident, revision) in current.items()
                   if (known := self._by_slug.get(slug)) is None and self._unloadable.get(slug) != (ident, revision)
                   or known is not None and (known.id, known.revision) != (ident, revision)]
        for start in range(0, len(changed), 500):
            chunk = changed[start:start + 500]
            for row in await self.storage.fetchall(
                    f"SELECT * FROM tenants WHERE id IN ({', '.join('?' * len(chunk))})", chunk):
                tenant = self._load_row(row)
                if tenant is None:
                    self._drop(row["slug"])
                else:
                    self._put(tenant)
        self._fingerprint = fingerprint

    async def reload(self, slug: str) -> None:
        row = await self.storage.fetchone("SELECT * FROM tenants WHERE slug = ?", (slug,))
        tenant = None if row is None else self._load_row(row)
        if tenant is None:
            self._drop(slug)
        else:
            self._put(tenant)

    async def fresh(self, slug: str) -> Tenant:
        """The tenant as storage holds it now (this process's copy brought up to date): what an
        administrator reads right after a change made through another process."""
        row = await self.storage.fetchone("SELECT * FROM tenants WHERE slug = ?", (slug,))
        if row is None:
            self._by_slug.pop(slug, None)
            raise NotFound("no such tenant", {"slug": slug})
        tenant = self._row_to_tenant(row)
        self._by_slug[slug] = tenant
        return tenant

    async def sync(self) -> None:
        """Bring this process's copies up to date now if any tenant changed (one cheap query when none did)."""
        if await self._current_fingerprint() != self._fingerprint:
            await self.load_all()

    async def _current_fingerprint(self) -> tuple[Any, ...]:
        row = await self.storage.fetchone(
            "SELECT COUNT(*) AS n, MAX(updated_at) AS u, SUM(revision) AS r, MAX(id) AS m FROM tenants")
        return tuple(row.values()) if row else ()

    async def start(self) -> None:
        await self.load_all()
        await self.cache.subscribe(CHANNEL, self._on_notice)
        self._poller = asyncio.ensure_future(self._poll())

    async def stop(self) -> None:
        if self._poller:
            self._poller.cancel()
            try:
                await self._poller
            except asyncio.CancelledError:
                pass

    async def _on_notice(self, slug: str) -> None:
        await self.reload(slug)

    async def _poll(self) -> None:
        # The safety net for a missed notice (Redis restarted, or a process started late).
        while True:
            await asyncio.sleep(POLL_SECONDS)
            try:
                if await self._current_fingerprint() != self._fingerprint:
                    await self.load_changed()
            except StorageError:
                log.warning("tenant poll skipped: storage unavailable")
            except Exception as exc:  # the poll must outlive any one failure, or copies go stale
                log.error("tenant poll failed (%s); polling on", type(exc).__name__)

    async def _changed(self, slug: str) -> None:
        await self.reload(slug)
        self._fingerprint = await self._current_fingerprint()
        try:
            await self.cache.publish(CHANNEL, slug)
        except CacheError:
            log.warning("tenant change notice not published; other processes pick it up by polling")

    # ---- writing -------------------------------------------------------------------------
    def _split(self, body: dict[str, Any], old: TenantSecrets | None) -> tuple[dict[str, Any], TenantSecrets]:
        config = copy.deepcopy(body)
        wechat = config["wechat"]
        given = {k: wechat.pop(k) for k in SECRET_WECHAT_KEYS if k in wechat}
        if old is None:
            sec = TenantSecrets(app_secret=given["app_secret"], token=given["token"],
                                encoding_aes_key=given.get("encoding_aes_key"),
                                webhook_secret=new_webhook_secret())
        else:
            sec = copy.copy(old)
            sec.app_secret = given.get("app_secret", sec.app_secret)
            sec.token = given.get("token", sec.token)
            if "encoding_aes_key" in given and given["encoding_aes_key"] != sec.encoding_aes_key:
                sec.previous_encoding_aes_key = sec.encoding_aes_key
                sec.encoding_aes_key = given["encoding_aes_key"]
        wechat.setdefault("message_mode", "plain")
        problem = mode_problem(wechat["message_mode"], sec.encoding_aes_key)
        if problem:
            raise Invalid(problem, {"problems": [problem]})
        return config, sec

    def _seal(self, slug: str, sec: TenantSecrets) -> bytes:
        return self.box.seal(json.dumps(asdict(sec)).encode(), f"tenant:{slug}")

    async def create(self, body: Any) -> tuple[Tenant, str]:
        problems = tenant_problems(body, self.allow_private_webhooks, creating=True)
        if problems:
            raise Invalid("the tenant is not valid", {"problems": problems})
        config, sec = self._split(body, None)
        api_key = new_api_key()
        now = self.clock.now()
        slug = config.pop("slug")
        name = config.pop("name")
        try:
            await self.storage.execute(
                "INSERT INTO tenants (slug, app_id, name, config, secrets, api_key_hash, created_at, updated_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (slug, config["wechat"]["app_id"], name, json.dumps(config, ensure_ascii=False),
                 self._seal(slug, sec), self.box.lookup_hash(api_key), now, now))
        except DuplicateKey:
            raise Conflict("a tenant with this slug or app_id exists", {"slug": slug}) from None
        await self._changed(slug)
        return self.require(slug), api_key

    def editable_body(self, tenant: Tenant) -> dict[str, Any]:
        body = {"slug": tenant.slug, "name": tenant.name, **copy.deepcopy(tenant.config)}
        return body

    async def _locked(self, tx: Executor, slug: str) -> Tenant:
        """The tenant as stored now (secrets opened from the row), its row locked until the transaction ends."""
        row = await tx.fetchone(f"SELECT * FROM tenants WHERE slug = ?{self.storage.for_update}", (slug,))
        if row is None:
            raise NotFound("no such tenant", {"slug": slug})
        return self._row_to_tenant(row)

    async def patch(self, slug: str, patch: Any) -> Tenant:
        if not isinstance(patch, dict):
            raise Invalid("the body must be a JSON object")
        if "slug" in patch and patch["slug"] != slug:
            raise Invalid("slug cannot be changed", {"problems": ["slug cannot be changed"]})

        async def work() -> None:
            # Merged onto the locked row, not this process's copy: a change made a moment ago by
            # another request or process (a rotated app_secret) must survive this one.
            async with self.storage.transaction() as tx:
                tenant = await self._locked(tx, slug)
                merged = merge_patch(self.editable_body(tenant), patch)
                problems = tenant_problems(merged, self.allow_private_webhooks, creating=False)
                if tenant.authorization and (merged.get("wechat") or {}).get("app_id") != tenant.app_id:
                    # The account is the one WeChat's authorization names; another AppID would not be.
                    problems.append("wechat.app_id cannot change while the tenant is connected by authorization")
                if problems:
                    raise Invalid("the change is not valid", {"problems": problems})
                config, sec = self._split(merged, tenant.secrets)
                config.pop("slug")
                name = config.pop("name")
                config["replies"] = tenant.replies
                if tenant.authorization:
                    config["authorization"] = tenant.authorization
                try:
                    await tx.execute(
                        "UPDATE tenants SET app_id = ?, name = ?, config = ?, secrets = ?, updated_at = ?,"
                        " revision = revision + 1 WHERE id = ?",
                        (config["wechat"]["app_id"], name, json.dumps(config, ensure_ascii=False),
                         self._seal(slug, sec), self.clock.now(), tenant.id))
                except DuplicateKey:
                    raise Conflict("another tenant has this app_id") from None

        await self.storage.retrying(work)
        await self._changed(slug)
        return self.require(slug)

    async def retire_previous_aes_key(self, slug: str, current_key: str) -> bool:
        """Drop the previous EncodingAESKey once a message decrypted with `current_key` (WeChat uses
        the new key now); True when this call dropped it. Stored, so every process stops using it."""
        async def work() -> bool:
            async with self.storage.transaction() as tx:
                tenant = await self._locked(tx, slug)
                sec = tenant.secrets
                if sec.encoding_aes_key != current_key or sec.previous_encoding_aes_key is None:
                    return False
                sec = copy.copy(sec)
                sec.previous_encoding_aes_key = None
                await tx.execute("UPDATE tenants SET secrets = ?, updated_at = ?, revision = revision + 1"
                                 " WHERE id = ?", (self._seal(slug, sec), self.clock.now(), tenant.id))
                return True

        dropped = await self.storage.retrying(work)
        if dropped:
            await self._changed(slug)
        return bool(dropped)

    async def previous_aes_key_stored(self, slug: str) -> str | None:
        """The previous EncodingAESKey as stored now (another process may have dropped it a moment ago)."""
        row = await self.storage.fetchone("SELECT * FROM tenants WHERE slug = ?", (slug,))
        return None if row is None else self._row_to_tenant(row).secrets.previous_encoding_aes_key

    async def set_replies(self, slug: str, body: Any) -> list[dict[str, str]]:
        problems = replies_problems(body)
        if problems:
            raise Invalid("the replies are not valid", {"problems": problems})

        async def work() -> None:
            async with self.storage.transaction() as tx:
                tenant = await self._locked(tx, slug)
                config = {**copy.deepcopy(tenant.config), "replies": body["rules"]}
                if tenant.authorization:
                    config["authorization"] = tenant.authorization
                await tx.execute(
                    "UPDATE tenants SET config = ?, updated_at = ?, revision = revision + 1 WHERE id = ?",
                    (json.dumps(config, ensure_ascii=False), self.clock.now(), tenant.id))

        await self.storage.retrying(work)
        await self._changed(slug)
        return list(body["rules"])

    async def create_authorized(self, slug: str, name: str, app_id: str, original_id: str | None,
                                authorization: dict[str, Any]) -> tuple[Tenant, str]:
        """A tenant connected by authorization to the third-party platform: no AppSecret, Token or
        EncodingAESKey of its own (its direct callback URL refuses every call). Returns (tenant, api_key)."""
        body: dict[str, Any] = {"slug": slug, "name": name, "wechat": {"app_id": app_id}}
        if original_id:
            body["wechat"]["original_id"] = original_id
        problems = tenant_problems(body, self.allow_private_webhooks, creating=False)
        if problems:
            raise Invalid("the tenant is not valid", {"problems": problems})
        config = copy.deepcopy(body)
        slug, name = config.pop("slug"), config.pop("name")
        config["authorization"] = authorization
        sec = TenantSecrets(app_secret="", token="", webhook_secret=new_webhook_secret())
        api_key = new_api_key()
        now = self.clock.now()
        try:
            await self.storage.execute(
                "INSERT INTO tenants (slug, app_id, name, config, secrets, api_key_hash, created_at, updated_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (slug, app_id, name, json.dumps(config, ensure_ascii=False), self._seal(slug, sec),
                 self.box.lookup_hash(api_key), now, now))
        except DuplicateKey:
            raise Conflict("a tenant with this slug or app_id exists", {"slug": slug}) from None
        await self._changed(slug)
        return self.require(slug), api_key

    async def set_authorization(self, slug: str, authorization: dict[str, Any],
                                original_id: str | None = None) -> Tenant:
        """Record the tenant's authorization to the third-party platform (connect, revoke, re-authorize);
        every process sees the change within seconds, like any tenant change."""
        async def work() -> None:
            async with self.storage.transaction() as tx:
                tenant = await self._locked(tx, slug)
                config = {**copy.deepcopy(tenant.config), "replies": tenant.replies, "authorization": authorization}
                if original_id:
                    config["wechat"]["original_id"] = original_id
                await tx.execute(
                    "UPDATE tenants SET config = ?, updated_at = ?, revision = revision + 1 WHERE id = ?",
                    (json.dumps(config, ensure_ascii=False), self.clock.now(), tenant.id))

        await self.storage.retrying(work)
        await self._changed(slug)
        return self.require(slug)

    async def delete(self, slug: str) -> None:
        """Delete the tenant and everything stored for it, in one transaction."""
        tenant = self.require(slug)
        async with self.storage.transaction() as tx:
            for table in TENANT_DATA_TABLES:
                await tx.execute(f"DELETE FROM {table} WHERE tenant_id = ?", (tenant.id,))
            await tx.execute("DELETE FROM wechat_tokens WHERE token_key IN (?, ?)", account_token_keys(tenant.app_id))
            await tx.execute("DELETE FROM tenants WHERE id = ?", (tenant.id,))
        await self._changed(slug)

    async def rotate_api_key(self, slug: str) -> str:
        """A new API key; the row's other columns are left alone, so no concurrent change is lost."""
        api_key = new_api_key()
        result = await self.storage.execute("UPDATE tenants SET api_key_hash = ? WHERE slug = ?",
                                            (self.box.lookup_hash(api_key), slug))
        if result.rowcount == 0:
            raise NotFound("no such tenant", {"slug": slug})
        return api_key

    async def rotate_webhook_secret(self, slug: str) -> str:
        """A new webhook secret (the old one signs nothing from now on); returned once."""
        secret = new_webhook_secret()

        async def work() -> None:
            async with self.storage.transaction() as tx:
                tenant = await self._locked(tx, slug)
                sec = copy.copy(tenant.secrets)
                sec.webhook_secret = secret
                await tx.execute("UPDATE tenants SET secrets = ?, updated_at = ?, revision = revision + 1 WHERE id = ?",
                                 (self._seal(slug, sec), self.clock.now(), tenant.id))

        await self.storage.retrying(work)
        await self._changed(slug)
        return secret

    async def tenant_for_api_key(self, api_key: str) -> Tenant | None:
        """Looked up in storage on every call, so a rotated-out key stops working at once everywhere."""
        row = await self.storage.fetchone("SELECT slug FROM tenants WHERE api_key_hash = ?",
                                          (self.box.lookup_hash(api_key),))
        if row is None:
            return None
        if self.get(row["slug"]) is None:
            await self.reload(row["slug"])
        return self.get(row["slug"])

    async def put_verify_file(self, slug: str, body: Any) -> dict[str, str]:
        tenant = self.require(slug)
        if not isinstance(body, dict) or set(body) - {"name", "content"}:
            raise Invalid("the body must be {\"name\", \"content\"}")
        name, content = body.get("name"), body.get("content")
        if not isinstance(name, str) or not VERIFY_NAME_RE.match(name):
            raise Invalid("name must look like MP_verify_<code>.txt", {"field": "name"})
        if not isinstance(content, str) or not 1 <= len(content) <= 1024:
            raise Invalid("content must be the file's text (1 to 1024 characters)", {"field": "content"})
        existing = await self.storage.fetchone("SELECT tenant_id FROM verify_files WHERE name = ?", (name,))
        if existing and existing["tenant_id"] != tenant.id:
            raise Conflict("another tenant uploaded a file of this name", {"name": name})
        if existing:
            await self.storage.execute("UPDATE verify_files SET content = ? WHERE name = ?", (content, name))
        else:
            try:
                await self.storage.execute("INSERT INTO verify_files (name, tenant_id, content) VALUES (?, ?, ?)",
                                           (name, tenant.id, content))
            except DuplicateKey:
                raise Conflict("another tenant uploaded a file of this name", {"name": name}) from None
        return {"name": name, "content": content}

    async def verify_file(self, name: str) -> str | None:
        row = await self.storage.fetchone("SELECT content FROM verify_files WHERE name = ?", (name,))
        return None if row is None else str(row["content"])

    async def verify_files_of(self, tenant: Tenant) -> list[str]:
        rows = await self.storage.fetchall("SELECT name FROM verify_files WHERE tenant_id = ?", (tenant.id,))
        return [r["name"] for r in rows]
