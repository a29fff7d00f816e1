"""English texts of the console's people pages, keyed by the Chinese text they replace."""
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
}
