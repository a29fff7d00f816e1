"""English texts of the console's people, documents and webhooks pages, keyed by the Chinese text they replace."""
from __future__ import annotations

EN_PEOPLE: dict[str, str] = {
    "人员账号": "People", "待审核注册": "Pending sign-ups", "员工": "Employee", "客户": "Customer",
    "供应商": "Supplier", "正常": "Active", "待审核": "Pending", "已离职": "Departed", "已锁定": "Locked",
    "已绑定微信": "Bound to WeChat", "从未登录": "Never signed in", "查找": "Search",
    "账号、姓名或职位": "Login, name or position", "类型": "Kind", "状态": "Status", "全部": "All",
    "筛选": "Filter", "姓名": "Name", "账号": "Login", "职位": "Position", "微信绑定": "WeChat binding",
    "最近登录": "Last sign-in", "操作": "Actions", "已绑定": "Bound", "自": "since", "未绑定": "Not bound",
    "下一页": "Next page", "确定": "OK", "取消": "Cancel",
    "重置密码": "Reset password", "解锁": "Unlock", "解除微信绑定": "Unbind WeChat", "标记离职": "Mark departed",
    "恢复在职": "Reactivate", "批准": "Approve", "拒绝": "Refuse",
    "已重置密码。": "Password reset.", "已解锁。": "Unlocked.", "已解除微信绑定。": "WeChat unbound.",
    "已标记为离职。": "Marked as departed.", "已恢复账号。": "Account reactivated.",
    "已批准注册申请。": "Sign-up approved.", "已拒绝并删除注册申请。": "Sign-up refused and deleted.",
    "密码已重置": "Password reset", "一次性新密码": "One-time new password",
    "重置 {who} 的密码？将生成一次性新密码，并解除其微信绑定、结束所有登录。":
        "Reset {who}'s password? A one-time password is made; their WeChat binding and every sign-in end.",
    "解锁 {who}？解锁后可立即重新输入密码登录。": "Unlock {who}? They can sign in with their password at once.",
    "解除 {who} 的微信绑定？其手机上的登录随即失效，下次需重新输入密码。":
        "Unbind {who}'s WeChat? Their phone is signed out and must enter the password again.",
    "将 {who} 标记为离职？将解除其微信绑定，此后拒绝其登录。":
        "Mark {who} as departed? Their WeChat binding ends and every later sign-in is refused.",
    "恢复 {who} 的账号？恢复后可以重新登录。": "Reactivate {who}? They can sign in again.",
    "批准 {who} 的注册申请？批准后其可以登录并绑定微信。": "Approve {who}'s sign-up? They can then sign in.",
    "拒绝 {who} 的注册申请？申请将被删除，该账号名可以重新注册。":
        "Refuse {who}'s sign-up? It is deleted and the login can be registered again.",
    "这个账号的状态已经变了，操作没有执行。请看列表中的最新状态。":
        "This account's state has changed, so nothing was done. See its current state in the list.",
    "员工在手机上自助注册后在这里等待审核。批准后即可登录；拒绝会删除申请。":
        "People who signed up on their phones wait here. Approve to let them sign in; refuse deletes the request.",
    "本企业在微信里登录的人员。可按账号、姓名或职位查找，按类型和状态筛选；每项操作都会先请您确认，并记入系统日志。":
        "The people who sign in through WeChat. Search by login, name or position, filter by kind and status; "
        "every action asks you to confirm and is recorded in the system log.",
    "没有待审核的注册申请。": "No sign-up is waiting.",
    "没有符合条件的人员。请换个关键词或筛选条件。": "Nobody matches. Try other words or filters.",
    # documents
    "单据与通知": "Documents", "单据": "Document", "申请人": "Applicant", "收件人与通知": "Recipients and notices",
    "收件人": "Recipient", "角色": "Role", "通知": "Notice", "审批": "Decision", "重发": "Resend",
    "返回单据列表": "Back to the documents", "更早的单据": "Older documents",
    "业务系统送来的单据，最新的在前。每位收件人的通知是否送达、审批结果都在这里；发送失败或未绑定的可以在单据详情里重发。":
        "Documents from your business system, newest first: whether each recipient's notice arrived, and their "
        "decision. A failed or unbound notice can be resent from the document's page.",
    "还没有单据。业务系统通过接口送来单据后会显示在这里。": "No documents yet. They appear here once your system sends them.",
    "单据已经结束，不能再发送通知。": "The document is closed: no more notices can be sent.",
    "这条通知已经送出或正在发送，不需要重发。": "This notice was delivered or is on its way: no need to resend.",
    "已重新排队发送。几秒后刷新本页查看结果。": "Queued again. Reload this page in a few seconds to see the result.",
    "排队待发送": "Queued", "已发送，等待微信回执": "Sent, waiting for WeChat's receipt", "已送达": "Delivered",
    "未发送：此人没有绑定微信": "Not sent: this person has not bound WeChat",
    "发送失败：对方没有关注服务号（或已取消关注）": "Failed: they do not follow the service account",
    "发送失败：微信不认识这个用户（可能换了服务号）": "Failed: WeChat does not know this user",
    "发送失败：对方已拒收本服务号的消息": "Failed: they blocked this service account",
    "发送失败：微信限制了向此人发送消息": "Failed: WeChat limits messages to this person",
    "发送失败：微信无法把消息送到此人": "Failed: WeChat cannot reach this person",
    "未发送：已从收件人中移除": "Not sent: removed from the recipients",
    "未发送：发送前单据已结束": "Not sent: the document closed first",
    "发送失败：没有设置这个角色的消息模板（在“消息模板”页填写）": "Failed: no template for this role (see Templates)",
    "发送失败：模板 ID 无效（请在“消息模板”页检查）": "Failed: the template ID is wrong (see Templates)",
    "发送失败：消息内容不符合模板要求": "Failed: the content does not fit the template",
    "发送失败：多次重试仍未成功，已放弃": "Failed: gave up after many tries",
    "发送失败：对方拒收（微信回执）": "Failed: refused by the user (WeChat receipt)",
    "发送失败：微信系统出错（微信回执）": "Failed: WeChat system error (WeChat receipt)",
    "发送失败：微信返回错误码": "Failed: WeChat error code", "发送失败：微信回执": "Failed: WeChat receipt",
    "同意": "Approved", "驳回": "Rejected", "进行中": "Open", "已同意": "Approved", "已驳回": "Rejected",
    "已撤回": "Withdrawn", "审批人": "Approver", "抄送": "CC",
    # webhooks
    "Webhook 推送记录": "Webhook deliveries", "事件": "Event", "尝试次数": "Attempts", "下次重试": "Next try",
    "重新推送": "Redeliver", "暂停推送": "Pause deliveries", "恢复推送": "Resume deliveries",
    "等待发送或重试": "Waiting to be sent or retried", "已放弃": "Given up", "已暂停": "Paused",
    "还没有推送记录。": "No deliveries yet.", "更早的记录": "Older deliveries", "推送正常进行中。": "Deliveries are running.",
    "推送已暂停：新的事件会保存下来，恢复后补发。": "Deliveries are paused: new events are kept and sent after resuming.",
    "已暂停推送。新的事件会保存下来，恢复后依次补发。": "Paused. New events are kept and sent in turn after resuming.",
    "已恢复推送，暂停期间的事件正在补发。": "Resumed: the events of the pause are being sent.",
    "已安排立即重新推送这个事件。": "This event will be sent again now.",
    "网关把每个事件签名后推送到业务系统的 WEBAPI接口。失败会自动重试，一天后放弃；可以在这里立即重新推送，或在业务系统维护期间暂停推送。":
        "Each event is signed and posted to your system's WEBAPI URL. Failures are retried for a day, then given "
        "up; redeliver one here at once, or pause deliveries while your system is under maintenance.",
}
