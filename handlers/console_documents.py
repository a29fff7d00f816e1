"""A tenant's documents in the console: the newest first with each recipient's delivery in
words and decision, one document's detail, and "resend" for a failed or unbound delivery
through DocumentService.resend (audited with the console actor)."""
from __future__ import annotations

from html import escape

from gateway.console.delivery_words import DECISIONS, DOC_STATES, ROLES, can_resend, delivery_words
from gateway.console.health import beijing_time
from gateway.platform.errors import Conflict, NotFound
from gateway.platform.tenant import Tenant
from gateway.storage import Row
from handlers.base import DOC, SLUG
from handlers.console_tenant import TenantPage

_WORDS = {"words": delivery_words, "can_resend": can_resend, "decisions": DECISIONS, "doc_states": DOC_STATES,
          "roles": ROLES, "when": beijing_time}


class DocumentsPage(TenantPage):
    async def get(self, slug: str) -> None:
        tenant = self.tenant(slug)
        before = self.get_query_argument("before", "") or ""
        docs, recipients, next_before = await self.gw.document_list.page(
            tenant.id, int(before) if before.isdigit() and len(before) < 19 else 0)
        self.render_console("documents.html", tenant=tenant, section="documents", docs=docs,
                            notices={d: "".join(self.notice_html(r) for r in rows) for d, rows in recipients.items()},
                            next_before=next_before, **_WORDS)

    def notice_html(self, r: Row) -> str:
        """One recipient's line on the list (who, the delivery in words, the decision), made here
        in one piece rather than value by value in the template (a page holds 150 of them); every
        value escaped."""
        kind, text, code = delivery_words(r["delivery"])
        who = f"{r['name'] or r['login']}（{self.t(str(ROLES.get(r['role'], r['role'])))}）："
        words = self.t(text) + (" " + code if code else "")
        decision = (f" · <b>{escape(self.t(str(DECISIONS.get(r['decision'], r['decision']))))}</b>"
                    if r["decision"] else "")
        return (f'<div class="recipient" data-login="{escape(r["login"])}">{escape(who)}'
                f' <span class="pill {escape(kind)}">{escape(words)}</span>{decision}</div>')


class DocumentPage(TenantPage):
    async def get(self, slug: str, doc_id: str) -> None:
        await self.show(self.tenant(slug), doc_id)

    async def show(self, tenant: Tenant, doc_id: str, message: str | None = None, error: str | None = None,
                   status: int = 200) -> None:
        doc, recipients = await self.gw.document_list.one(tenant.id, doc_id)
        if doc is None:
            raise NotFound("no such document")
        self.render_console("document.html", tenant=tenant, section="documents", doc=doc, recipients=recipients,
                            message=message, errors={"_form": error} if error else {}, status=status, **_WORDS)

    async def post(self, slug: str, doc_id: str) -> None:
        tenant = self.tenant(slug)
        login, role = self.form("login"), self.form("role")
        try:
            await self.gw.documents.resend(tenant, doc_id, {"login": login, "role": role}, actor=self.actor)
        except Conflict as exc:
            text = ("单据已经结束，不能再发送通知。" if "closed" in exc.message
                    else "这条通知已经送出或正在发送，不需要重发。")
            await self.show(tenant, doc_id, error=self.t(text), status=409)
            return
        await self.show(tenant, doc_id, message=self.t("已重新排队发送。几秒后刷新本页查看结果。"))


ROUTES = [
    (rf"/console/t/{SLUG}/documents", DocumentsPage),
    (rf"/console/t/{SLUG}/documents/{DOC}", DocumentPage),
]
