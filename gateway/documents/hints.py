"""The example under the phone's decision and comment boxes, fitted to the document's type: a leave
request gets no purchase example."""
from __future__ import annotations

# (words in the type, example for a decision, example for a comment); the first match wins.
_BY_TYPE: tuple[tuple[tuple[str, ...], str, str], ...] = (
    (("请假", "休假", "调休", "年假", "病假", "leave"),
     "例如：同意休假，请做好工作交接", "例如：休假期间的工作由谁接手？"),
    (("报销", "费用", "差旅", "expense"),
     "例如：票据齐全，同意报销", "例如：请补充发票原件"),
    (("采购", "购买", "purchase"),
     "例如：同意采购，请尽快下单", "例如：请补充两家供应商的报价"),
    (("合同", "协议", "contract"),
     "例如：条款已核对，同意签订", "例如：付款条款请法务再看一下"),
    (("付款", "用款", "payment"),
     "例如：金额无误，同意付款", "例如：请注明收款账户"),
)
_DEFAULT = ("例如：同意，按流程办理", "写下您的意见或问题，审批人和抄送人都能看到")


def hints_for(doc_type: str) -> dict[str, str]:
    """{"decision": …, "comment": …} for a document of `doc_type`."""
    lowered = doc_type.lower()
    for words, decision, comment in _BY_TYPE:
        if any(word in lowered for word in words):
            return {"decision": decision, "comment": comment}
    return {"decision": _DEFAULT[0], "comment": _DEFAULT[1]}
