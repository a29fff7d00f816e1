"""A tenant's people in the console: the accounts page (search, filters by kind and status, one
page at a time) with its actions, and the pending self-registrations with approve / refuse. Each
action asks for a confirmation first, goes through AccountService and is audited with the actor."""
from __future__ import annotations

from typing import Any

import tornado.web

from gateway.accounts.initial_password import strong_password
from gateway.accounts.listing import STATUSES, AccountQuery
from gateway.accounts.rules import KINDS
from gateway.console.health import beijing_time
from gateway.platform.errors import Conflict
from gateway.platform.tenant import Tenant
from handlers.base import SLUG
from handlers.console_tenant import TenantPage

KIND_LABELS = {"employee": "员工", "customer": "客户", "supplier": "供应商"}
STATUS_LABELS = {"active": "正常", "pending": "待审核", "departed": "已离职", "locked": "已锁定",
                 "bound": "已绑定微信", "never": "从未登录"}
# action: (button, question asked before doing it, message after it)
ACTIONS = {
    "reset": ("重置密码", "重置 {who} 的密码？将生成一次性新密码，并解除其微信绑定、结束所有登录。",
              "已重置密码。"),
    "unlock": ("解锁", "解锁 {who}？解锁后可立即重新输入密码登录。", "已解锁。"),
    "unbind": ("解除微信绑定", "解除 {who} 的微信绑定？其手机上的登录随即失效，下次需重新输入密码。",
               "已解除微信绑定。"),
    "depart": ("标记离职", "将 {who} 标记为离职？将解除其微信绑定，此后拒绝其登录。", "已标记为离职。"),
    "reactivate": ("恢复在职", "恢复 {who} 的账号？恢复后可以重新登录。", "已恢复账号。"),
    "approve": ("批准", "批准 {who} 的注册申请？批准后其可以登录并绑定微信。", "已批准注册申请。"),
    "refuse": ("拒绝", "拒绝 {who} 的注册申请？申请将被删除，该账号名可以重新注册。", "已拒绝并删除注册申请。"),
}


def row_actions(row: Any, now: float) -> list[str]:
    status = row["status"]
    if status == "pending":
        return ["approve", "refuse"]
    actions = ["reset"] if status == "active" else []
    if row["locked_until"] is not None and row["locked_until"] > now:
        actions.append("unlock")
    if row["bound_at"] is not None:
        actions.append("unbind")
    actions.append("depart" if status == "active" else "reactivate")
    return actions


class PeoplePage(TenantPage):
    pending_only = False

    async def get(self, slug: str) -> None:
        await self.show(self.tenant(slug))

    async def show(self, tenant: Tenant, message: str | None = None, error: str | None = None,
                   status: int = 200) -> None:
        arg = self.get_query_argument
        query = AccountQuery.of(arg("q", ""), arg("kind", ""), "pending" if self.pending_only else arg("status", ""),
                                arg("after", ""))
        rows, next_after = await self.gw.account_list.page(tenant.id, query)
        self.render_console("people.html", tenant=tenant, section="pending" if self.pending_only else "people",
                            rows=rows, query=query, next_after=next_after, kinds=KINDS, statuses=STATUSES,
                            kind_labels=KIND_LABELS, status_labels=STATUS_LABELS, actions=ACTIONS,
                            row_actions=row_actions, now=self.gw.clock.now(), when=beijing_time,
                            pending_only=self.pending_only, message=message, status=status,
                            errors={"_form": error} if error else {})

    async def post(self, slug: str) -> None:
        tenant = self.tenant(slug)
        action, login = self.form("action"), self.form("login")
        if self.form("act"):  # a row's button on the list: "<action>:<login>" (one form for the whole list)
            action, _, login = self.form("act").partition(":")
        if action not in ACTIONS or not login:
            raise tornado.web.HTTPError(400)
        row = await self.gw.directory.require_row(tenant, login)
        who = f"{row['name']}（{row['login']}）"
        if self.form("confirm") != "1":
            label, question, _ = ACTIONS[action]
            self.render_console("people_confirm.html", tenant=tenant, section=self.section, action=action,
                                login=row["login"], action_label=self.t(label),
                                question=self.t(question).replace("{who}", who), back=self.back_url(slug))
            return
        try:
            password = await self.act(tenant, action, row["login"])
        except Conflict:
            await self.show(tenant, error=self.t("这个账号的状态已经变了，操作没有执行。请看列表中的最新状态。"),
                            status=409)
            return
        if password is not None:
            self.render_console("secret_once.html", tenant=tenant, section=self.section, heading=self.t("密码已重置"),
                                secrets=[(self.t("一次性新密码") + f" · {who}", password)],
                                next_url=self.back_url(slug))
            return
        await self.show(tenant, message=self.t(ACTIONS[action][2]))

    @property
    def section(self) -> str:
        return "pending" if self.pending_only else "people"

    def back_url(self, slug: str) -> str:
        return f"/console/t/{slug}/people" + ("/pending" if self.pending_only else "")

    async def act(self, tenant: Tenant, action: str, login: str) -> str | None:
        accounts, actor = self.gw.accounts, self.actor
        if action == "reset":
            password = strong_password()
            await accounts.put(tenant, login, {"password": password}, actor)
            return password
        if action == "unlock":
            await accounts.unlock(tenant, login, actor)
        elif action == "unbind":
            await accounts.unbind(tenant, login, actor)
        elif action == "depart":
            await accounts.depart(tenant, login, actor)
        elif action == "reactivate":
            await accounts.put(tenant, login, {"active": True}, actor)
        elif action == "approve":
            await accounts.approve(tenant, login, actor)
        elif action == "refuse":
            await accounts.refuse(tenant, login, actor)
        return None


class PendingPage(PeoplePage):
    pending_only = True


ROUTES = [
    (rf"/console/t/{SLUG}/people", PeoplePage),
    (rf"/console/t/{SLUG}/people/pending", PendingPage),
]
