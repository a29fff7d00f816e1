"""English texts of the console's import and log pages, keyed by the Chinese text they replace."""
from __future__ import annotations

EN_IMPORT: dict[str, str] = {
    "导入人员": "Import people", "核对": "Check", "表格文件": "Sheet file", "上传并预览": "Upload and preview",
    "上传表格": "Upload the sheet", "核对前几行和列的对应关系，选择初始密码的来源":
        "Check the first rows and which column is which; choose where initial passwords come from",
    "试运行：列出每一个有问题的行，不写入任何数据": "Dry run: every bad row is listed, nothing is written",
    "导入：全部成功，或者一行也不写入": "Import: all rows, or none",
    "从您已有的人员表格导入账号：Excel（.xlsx）或 CSV（UTF-8 或 GB18030，Excel 另存的 CSV 都可以）。第一行是列名，例如 工号、姓名、职位、微信号、类型、密码。":
        "Import accounts from the sheet you already keep: Excel (.xlsx) or CSV (UTF-8 or GB18030, as Excel saves "
        "it). The first row holds the column names, e.g. login, name, position, WeChat id, kind, password.",
    "已有账号只更新姓名、职位、类型和微信号，不会改变其密码和状态；待审核的自助注册不会被导入激活。":
        "Existing accounts get only their name, position, kind and WeChat id updated, never their password or "
        "status; a pending self-registration is never activated by an import.",
    "请选择要导入的 .csv 或 .xlsx 文件。": "Choose a .csv or .xlsx file to import.",
    "表格共": "The sheet has", "行数据，下面是前几行。请确认每一项对应的列，然后先试运行。":
        "rows; the first ones are below. Check which column is which, then do a dry run first.",
    "列的对应关系": "Columns", "（没有这一列）": "(no such column)", "微信号": "WeChat id", "密码": "Password",
    "新账号的初始密码": "Initial passwords of new accounts",
    "为每个新账号随机生成（导入后下载一次）": "Generate one per new account (downloaded once after the import)",
    "使用表格中的密码列": "Take them from the password column",
    "所有新账号使用同一个初始密码": "One initial password for every new account",
    "不设密码（之后在人员账号中逐个重置）": "No password (reset each one later on the People page)",
    "统一初始密码": "The one initial password",
    "初始密码只用于新账号，已有账号的密码不变。": "Initial passwords are for new accounts only; existing "
                                             "accounts keep theirs. ",
    "本企业开启了“首次登录必须修改密码”：新账号首次登录时必须设置自己的密码。":
        "First-login password change is on: new accounts must choose their own password at first sign-in.",
    "试运行": "Dry run", "导入": "Import", "试运行结果": "Dry run result", "没有导入": "Nothing imported",
    "行有问题，导入时不会写入任何数据。": "rows have problems; an import would write nothing.",
    "行": "Row", "问题": "Problem", "没有问题。导入将新建": "No problems. The import will create",
    "个账号，更新": "accounts and update", "个已有账号。": "existing accounts.",
    "个已有账号的密码列被忽略（密码保持不变）。": "existing accounts' password cells are ignored (passwords unchanged).",
    "有问题的行见下表，没有导入任何数据。请改正表格后重新上传，或调整列的对应关系。":
        "Nothing was imported: the rows below have problems. Fix the sheet and upload it again, or change the columns.",
    "导入完成": "Import done", "新建": "Created",
    "新账号的初始密码只能下载这一次，服务器不保存明文。请立即下载，并通过安全的方式交给每个人。":
        "The new accounts' initial passwords can be downloaded this one time; the server keeps no clear copy. "
        "Download them now and hand them to each person safely.",
    "下载初始密码表": "Download the initial passwords", "新账号首次登录时必须修改初始密码。":
        "New accounts must change their initial password at first sign-in.",
    "查看人员账号": "See the people",
    "有一份导入时生成的初始密码表还没有下载": "A sheet of initial passwords made by an import has not been downloaded",
    "只能下载一次，一小时后失效。": "It can be downloaded once, within an hour.",
    "账号、姓名或职位的开头": "Start of a login, name or position",
    # the logs
    "关闭后不再记录该日志，但安全事件（登录失败、锁定、密码重置、密钥更换、管理员解除绑定等）始终记录。":
        "Turned off, the log is no longer written, but security events (failed sign-ins, lockouts, password "
        "resets, key changes, unbinds by an administrator…) are always kept.",
    "移动端日志": "Mobile log", "系统日志": "System log", "导出 CSV": "Export CSV", "从": "From", "到": "To",
    "时间": "Time", "对象": "Subject", "操作人": "By", "详情": "Details", "安全": "security",
    "更早的记录": "Older records", "时间（北京时间）": "Time (Beijing)", "安全事件": "Security event", "是": "yes",
    "人员在手机上的操作：登录、绑定与解除绑定、审批、自助注册。最新的在前。":
        "What people did from their phones: sign-ins, bindings and unbindings, decisions, self-registrations. "
        "Newest first.",
    "管理操作：账号与设定的修改、导入、重置密码、令牌与菜单事件、控制台登录。最新的在前。":
        "Administration: changes to accounts and settings, imports, password resets, token and menu events, "
        "console sign-ins. Newest first.",
    "本日志已在“功能设定”中关闭：现在只记录安全事件（登录失败、锁定、密码重置、密钥更换、管理员解除绑定等）。":
        "This log is turned off in Settings: only security events are recorded now (failed sign-ins, lockouts, "
        "password resets, key changes, unbinds by an administrator…).",
    "没有符合条件的记录。请换个日期范围、人员或类型。": "No record matches. Try other dates, person or kind.",
}

# The logs' kinds in English, by action (their Chinese words in gateway/platform/audit_kinds.py).
EN_LOG_KINDS: dict[str, str] = {
    "login.ok": "Signed in",
    "login.failed": "Sign-in failed",
    "login.refused": "Sign-in refused",
    "account.locked": "Locked",
    "account.bound": "WeChat bound",
    "account.unbound": "Unbound",
    "password.changed": "Password changed",
    "password.rehashed": "Password hash upgraded",
    "account.registered": "Self-registration",
    "account.registration_ignored": "Registration of an existing login (ignored)",
    "document.decision": "Decision",
    "document.commented": "Comment",
    "bind_qr.scanned": "Bind QR: scanned",
    "bind_qr.confirmed": "Bind QR: confirmed",
    "bind_qr.cancelled": "Bind QR: cancelled",
    "account.created": "Account created",
    "account.updated": "Account updated",
    "account.departed": "Marked departed",
    "account.activated": "Account reactivated",
    "account.approved": "Sign-up approved",
    "account.refused": "Sign-up refused",
    "account.unlocked": "Account unlocked",
    "accounts.imported": "People imported",
    "password.reset": "Password reset",
    "notification.resent": "Notice resent",
    "document.closed": "Document closed",
    "bind_qr.created": "Bind QR created",
    "menu.pushed": "Menu published",
    "token.failed": "Token fetch failed",
    "token.recovered": "Token fetched again",
    "component.authorized": "Authorized (third-party platform)",
    "component.unauthorized": "Authorization withdrawn",
    "tenant.deleted": "Tenant deleted",
    "tenant.created": "Tenant created",
    "tenant.changed": "Settings changed",
    "tenant.api_key_rotated": "API key rotated",
    "tenant.webhook_secret_rotated": "Webhook secret rotated",
    "tenant.replies_changed": "Keyword replies changed",
    "tenant.verify_file": "Verify file uploaded",
    "tenant.test_event": "Test event sent",
    "webhook.redelivered": "Redelivered",
    "webhook.paused": "Webhooks paused",
    "webhook.resumed": "Webhooks resumed",
    "console.login.ok": "Console sign-in",
    "console.login.failed": "Console sign-in failed",
    "console.account_locked": "Console account locked",
    "console.account_created": "Administrator created",
    "console.account_deleted": "Administrator deleted",
    "console.password_reset": "Administrator password reset",
    "console.password_changed": "Administrator changed password",
    "console.totp_required": "Two-step verification required",
    "console.totp_off": "Two-step verification off",
    "console.totp_enrolled": "Two-step verification enrolled",
}
