"""A notification's delivery and decision in the words the console shows (Chinese; the English
switch translates them), with WeChat's reason for a failure said plainly."""
from __future__ import annotations

STATES = {"queued": "排队待发送", "sent": "已发送，等待微信回执", "delivered": "已送达",
          "unbound": "未发送：此人没有绑定微信"}
FAILURES = {
    "not_subscribed": "发送失败：对方没有关注服务号（或已取消关注）",
    "invalid_openid": "发送失败：微信不认识这个用户（可能换了服务号）",
    "blacklisted": "发送失败：对方已拒收本服务号的消息",
    "user_limited": "发送失败：微信限制了向此人发送消息",
    "unreachable": "发送失败：微信无法把消息送到此人",
    "removed": "未发送：已从收件人中移除",
    "document_closed": "未发送：发送前单据已结束",
    "no_template": "发送失败：没有设置这个角色的消息模板（在“消息模板”页填写）",
    "invalid_template": "发送失败：模板 ID 无效（请在“消息模板”页检查）",
    "invalid_data": "发送失败：消息内容不符合模板要求",
    "gave_up": "发送失败：多次重试仍未成功，已放弃",
    "user block": "发送失败：对方拒收（微信回执）",
    "system failed": "发送失败：微信系统出错（微信回执）",
}
DECISIONS = {"approve": "同意", "reject": "驳回"}
DOC_STATES = {"open": "进行中", "approved": "已同意", "rejected": "已驳回", "withdrawn": "已撤回"}
ROLES = {"approver": "审批人", "cc": "抄送"}


def delivery_words(delivery: str) -> tuple[str, str, str]:
    """(kind, words, code): kind is ok / wait / bad for the page's colour; `words` is one of the
    texts above (translated by the page), `code` WeChat's own code or words when not known here."""
    if delivery in STATES:
        kind = "ok" if delivery == "delivered" else "bad" if delivery == "unbound" else "wait"
        return kind, STATES[delivery], ""
    reason = delivery.removeprefix("failed:")
    if reason in FAILURES:
        return "bad", FAILURES[reason], ""
    if reason.startswith("error_"):
        return "bad", "发送失败：微信返回错误码", reason.removeprefix("error_")
    return "bad", "发送失败：微信回执", reason


def can_resend(delivery: str) -> bool:
    """What DocumentService.resend accepts: a failure for good, or no binding."""
    return delivery.startswith("failed:") or delivery == "unbound"
