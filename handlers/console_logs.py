"""The console's two logs: 移动端日志 (what people did from their phones) and 系统日志
(administrative changes, imports, token and menu events), filtered by date, person and kind,
paged on the audit id, and exported as CSV (UTF-8 with BOM, cells guarded against formulas)."""
from __future__ import annotations

import json

from gateway.console.health import beijing_time
from gateway.console.logs import LogListing, LogQuery, to_the_second
from gateway.platform.audit_kinds import actions_of, label
from gateway.platform.csv_export import csv_text
from handlers.base import SLUG
from handlers.console_en_import import EN_LOG_KINDS
from handlers.console_tenant import TenantPage

LOG = r"(?P<log>mobile|system)"
TITLES = {"mobile": "移动端日志", "system": "系统日志"}


def detail_words(detail: dict) -> str:
    return "; ".join(f"{k}={v if isinstance(v, (str, int, float)) else json.dumps(v, ensure_ascii=False)}"
                     for k, v in detail.items())


class LogPage(TenantPage):
    def kind_words(self, action: str) -> str:
        return EN_LOG_KINDS.get(action, action) if self.lang == "en" else label(action)

    def query(self, log: str) -> LogQuery:
        arg = self.get_query_argument
        return LogQuery.of(log, arg("since", ""), arg("until", ""), arg("person", ""), arg("kind", ""),
                           arg("before", ""))

    async def get(self, slug: str, log: str) -> None:
        tenant = self.tenant(slug)
        query = self.query(log)
        items, next_before = await self.gw.logs.page(tenant.id, query)
        self.render_console("logs.html", tenant=tenant, section=f"log-{log}", log=log, title=TITLES[log],
                            items=items, query=query, next_before=next_before, kinds=actions_of(log),
                            when=beijing_time, detail_words=detail_words, recorded=bool(tenant.logging[log]),
                            kind_words=self.kind_words)


class LogExport(LogPage):
    async def get(self, slug: str, log: str) -> None:
        tenant = self.tenant(slug)
        query = self.query(log)
        listing: LogListing = self.gw.logs
        self.set_header("Content-Type", "text/csv; charset=utf-8")
        self.set_header("Content-Disposition", f"attachment; filename=\"{tenant.slug}-{log}-log.csv\"")
        self.write(csv_text([(self.t("时间（北京时间）"), self.t("操作人"), self.t("类型"), self.t("对象"),
                              self.t("详情"), self.t("安全事件"), "action")], bom=True))
        async for chunk in listing.export(tenant.id, query):
            self.write(csv_text([(to_the_second(e["at"]), e["actor"], self.kind_words(e["action"]), e["subject"],
                                  detail_words(e["detail"]), self.t("是") if e["security"] else "", e["action"])
                                 for e in chunk]))
            await self.flush()


ROUTES = [
    (rf"/console/t/{SLUG}/logs/{LOG}", LogPage),
    (rf"/console/t/{SLUG}/logs/{LOG}\.csv", LogExport),
]
