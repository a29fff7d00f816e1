"""English texts of the console, keyed by the Chinese text they replace."""
from __future__ import annotations

EN: dict[str, str] = {
    # layout, navigation, errors
    "管理控制台": "Console", "微信服务号网关": "WeChat gateway", "退出登录": "Sign out", "租户列表": "Tenants",
    "新建租户": "New tenant", "运营方账号": "Operator accounts", "接入检查表": "Checklist", "功能设定": "Settings",
    "消息模板": "Templates", "关键词回复": "Keyword replies", "服务号菜单": "Menu", "域名校验文件": "Verify file",
    "密钥与推送": "Keys and webhooks", "企业管理员": "Administrators", "删除租户": "Delete tenant",
    "返回控制台": "Back to the console", "请求无效": "Invalid request", "无权访问": "Not allowed",
    "页面不存在": "Page not found", "服务暂时不可用": "Service unavailable", "出错了": "Something went wrong",
    "表单已过期或不完整，请返回上一页重新提交。": "The form was incomplete or has expired: go back and submit it again.",
    "表单已过期，请刷新页面后重试。": "The form has expired: reload the page and try again.",
    "您要找的页面不存在，或您没有权限查看。请从导航重新进入。": "This page does not exist or is not yours to see. Use the navigation to go on.",
    "系统繁忙或后台服务暂时不可用，请稍后再试。": "The system is busy or a back end is unavailable; try again shortly.",
    "系统出现问题，请稍后再试。": "Something went wrong; try again shortly.",
    "复制": "Copy", "已保存。": "Saved.", "生成": "Generate",
    # sign-in, password, TOTP
    "登录": "Sign in", "登录管理控制台": "Sign in to the console",
    "企业管理员：填写企业代码、账号和密码。平台运营方：企业代码留空，用运营方账号登录；或在下方使用运营方令牌。":
        "Company administrators: enter the company code, login and password. Platform operator: leave the company "
        "code empty and use an operator account, or use the operator token below.",
    "企业代码": "Company code", "账号": "Login", "密码": "Password",
    "动态验证码（已开启两步验证时填写）": "One-time code (when two-step verification is on)",
    "使用运营方令牌登录": "Sign in with the operator token", "运营方令牌": "Operator token",
    "运营方令牌不正确。": "The operator token is not right.",
    "企业代码、账号或密码不正确。": "The company code, login or password is not right.",
    "密码错误次数过多，账号已锁定，请稍后再试或联系平台运营方解锁。":
        "Too many wrong passwords: the account is locked. Try again later or ask the operator to unlock it.",
    "还可以再试 {n} 次。": " {n} attempts left.", "此网络的失败登录过多，请稍后再试。":
        "Too many failed sign-ins from this network; try again later.",
    "请填写账号和密码。": "Enter the login and password.", "修改密码": "Change password",
    "这是管理员为您设置的初始密码，请先设置自己的新密码再继续。":
        "This is the first password you were given: choose your own before going on.",
    "新密码至少 10 个字符，不能是常见密码。修改后，您在其他设备上的登录会退出。":
        "At least 10 characters, not a common password. Your other sign-ins end when you change it.",
    "当前密码": "Current password", "新密码": "New password", "保存新密码": "Save the new password",
    "当前密码不正确。": "The current password is not right.",
    "新密码不能与当前密码相同。": "The new password must differ from the current one.",
    "密码已修改。": "Password changed.", "两步验证": "Two-step verification",
    "开启两步验证": "Turn on two-step verification",
    "平台运营方要求此账号使用两步验证。请在手机的验证器应用（如 Microsoft Authenticator、Google 身份验证器）中添加下面的密钥，再填写应用显示的 6 位数字。":
        "The operator requires two-step verification for this account. Add the key below to an authenticator app "
        "on your phone, then enter the 6 digits it shows.",
    "密钥": "Key", "6 位验证码": "6-digit code", "确认开启": "Turn on",
    "验证码不正确，请核对手机上的 6 位数字后重试。": "The code is not right: check the 6 digits on your phone and try again.",
    # tenants list, creation, deletion, accounts
    "还没有租户。点“新建租户”，填写企业的服务号 AppID 和 Secret 即可开始接入。":
        "No tenants yet. Use “New tenant” with the company's AppID and Secret to start.",
    "企业": "Company", "接入进度": "Onboarding", "最近回调": "Last callback", "令牌": "Token",
    "今日发送 / 失败": "Sent today / failed", "推送失败": "Webhook failures", "从未": "never", "正常": "OK",
    "AppID/Secret 错误": "Wrong AppID/Secret", "IP 未加白名单": "IP not whitelisted", "尚未获取": "not fetched yet",
    "填写企业代码、名称和服务号的 AppID、Secret（在微信公众平台“设置与开发 → 基本配置”中获得）。其余设置创建后在“功能设定”中填写。":
        "Enter the company code, name and the service account's AppID and Secret (from WeChat's basic "
        "configuration). Everything else is set on the settings page afterwards.",
    "留空则自动生成。与微信后台“服务器配置”中的令牌一致。": "Generated when left empty. Must match the Token in WeChat's server configuration.",
    "创建": "Create", "企业名称": "Company name", "租户已创建": "Tenant created",
    "API 密钥（业务系统调用接口用）": "API key (for the business system)", "Webhook 签名密钥": "Webhook signing secret",
    "企业代码或 AppID 已被其他租户使用。": "Another tenant already has this company code or AppID.",
    "以下内容只显示这一次，离开本页后无法再次查看。请立即复制并交给企业的技术人员妥善保存。":
        "Shown this once only: copy it now and hand it to the company's technical staff to keep safe.",
    "我已保存，继续": "Saved it, continue",
    "删除后，该企业的账号、微信绑定、单据、待发消息、事件、审计日志和校验文件都会被永久删除，无法恢复。":
        "Deleting removes the company's accounts, bindings, documents, queued messages, events, audit log and "
        "verify files for good.",
    "请输入企业代码确认": "Type the company code to confirm", "永久删除": "Delete for good",
    "请输入企业代码以确认删除。": "Type the company code to confirm the deletion.",
    "企业管理员用企业代码、账号和密码登录本控制台，只能查看和修改本企业的设置。":
        "Company administrators sign in with the company code, login and password, and see only their company.",
    "运营方账号可以管理所有租户。登录时企业代码留空。": "Operator accounts manage every tenant. Leave the company code empty to sign in.",
    "的初始密码（只显示这一次，首次登录后必须修改）": "first password (shown once, to be changed at first sign-in)",
    "状态": "State", "操作": "Actions", "待修改初始密码": "first password not changed yet", "已锁定": "locked",
    "已开启": "on", "已要求，待绑定": "required, not set up yet", "未要求": "not required", "添加账号": "Add an account",
    "要求两步验证": "Require two-step verification", "添加": "Add", "重置密码": "Reset password",
    "取消两步验证": "Stop requiring it", "删除": "Delete", "这个账号已经存在。": "This login exists already.",
    "账号不能为空，最多 64 个字，不能含控制字符或 / \\ ? #。": "The login is required: at most 64 characters, no control characters or / \\ ? #.",
    # checklist
    "检查": "Check", "按顺序完成下面八步，服务号就能给员工、客户和供应商发送单据提醒。点“检查”会立即向微信重新确认。":
        "Finish these eight steps in order and the service account can notify employees, customers and suppliers. "
        "“Check” asks WeChat again right now.",
    "已有员工在微信中完成首次登录绑定。": "Someone has already signed in and bound their WeChat.",
    "全部完成后，请用手机微信打开服务号菜单，登录一次完成首个绑定。":
        "When all is done, open the account's menu in WeChat on a phone and sign in once to make the first binding.",
    "填到微信后台的地址": "Addresses to enter in WeChat", "已完成": "done", "未完成": "missing",
    "暂无法确认": "unknown yet", "服务器地址 (URL)": "Server URL",
    "网页授权域名 / JS 接口安全域名": "Web authorisation domain / JS-SDK domain", "菜单入口地址": "Menu entry URL",
    "已重新检查。": "Checked again.", "注册微信服务号": "Register the WeChat service account",
    "在微信公众平台 (mp.weixin.qq.com) 用管理员的微信扫码注册，账号类型选择“服务号”。":
        "Register at mp.weixin.qq.com by scanning with the administrator's WeChat; choose “service account”.",
    "认证微信服务号（需向腾讯缴费）": "Certify the service account (a fee paid to Tencent)",
    "在公众平台的“设置 → 微信认证”中提交企业资料并缴费，通常一天内完成。认证后才能使用模板消息和自定义菜单。":
        "Submit the company's papers and pay under Settings → WeChat certification; it usually takes a day. "
        "Template messages and menus need it.",
    "启用开发者，获得 AppID 和 AppSecret": "Enable developer mode and get the AppID and AppSecret",
    "在“设置与开发 → 基本配置”中启用开发者密码，把 AppID 和 AppSecret 抄下来，填到本系统的设置页。AppSecret 只显示一次，忘记了只能重置。":
        "Enable the developer password under Settings and development → Basic configuration, note the AppID and "
        "AppSecret and enter them on the settings page. The AppSecret is shown once; if lost it must be reset.",
    "去填写 AppID / Secret": "Enter the AppID / Secret", "设置 IP 白名单": "Whitelist the IP",
    "微信拒绝了来自 {ip} 的请求：请在“基本配置 → IP 白名单”中加入 {ip}，大约 5 分钟后生效。":
        "WeChat refused calls from {ip}: add {ip} to the IP whitelist under Basic configuration (takes about 5 minutes).",
    "在“基本配置 → IP 白名单”中加入本系统的出口 IP（向平台运营方索取）。":
        "Add the gateway's outgoing IP (ask the operator) to the IP whitelist under Basic configuration.",
    "设置 JS 接口安全域名、网页授权域名": "Set the JS-SDK and web authorisation domains",
    "在“设置与开发 → 公众号设置 → 功能设置”中把网页授权域名和 JS 接口安全域名都填为 {domain}，下载页面提示的校验文件，上传到本系统后再回到微信点“确定”。":
        "Under Account settings → Function settings set both domains to {domain}, download the verify file "
        "WeChat offers, upload it here, then confirm in WeChat.",
    "去上传校验文件": "Upload the verify file", "开启消息模板": "Turn on template messages",
    "在“广告与服务 → 模板消息”中开通，行业选 IT科技 / IT软件与服务 和 其他 / 其他；选好审批和抄送两个模板后，把模板 ID 填到本系统的模板页。":
        "Turn on Template messages (industries: IT / IT software and services, and Other / Other), pick an "
        "approval and a copy template and enter their template IDs on the templates page.",
    "去设置模板": "Set the templates",
    "模板已设置。第一条单据提醒成功发出后，这一步会显示为已完成。":
        "Templates are set. This step turns done once the first notification has been sent.", "设置服务号菜单": "Set the menu",
    "启用服务器配置后，微信后台的菜单编辑器不再生效，请在本系统的菜单页编辑并发布菜单。":
        "Once the server URL is enabled WeChat's own menu editor stops working: edit and publish the menu here.",
    "去编辑菜单": "Edit the menu", "将 AppID、AppSecret 等填入本系统并启用服务器配置":
        "Enter the AppID, AppSecret etc. here and enable the server configuration",
    "在“基本配置 → 服务器配置”中填写服务器地址 {callback}，令牌 (Token) 和消息加解密密钥与本系统设置页一致，然后点“启用”。微信会立即发来一次校验。":
        "Under Basic configuration → Server configuration enter the URL {callback} with the same Token and "
        "EncodingAESKey as on the settings page, then enable it. WeChat checks it at once.",
    "去核对设置": "Check the settings",
    # settings
    "系统是多租户": "Multi-tenant system", "固定开启": "always on", "允许手机端注册": "Allow registration on phones",
    "登录允许密码错误次数": "Wrong passwords allowed", "锁定时长（分钟）": "Lockout (minutes)",
    "首次登录必须修改密码": "Change the password at first sign-in", "密码复杂度控制": "Password character classes",
    "不选表示不限制字符种类（推荐：更长的密码比复杂规则更安全）。": "None means no rule (recommended: length beats composition rules).",
    "密码最短长度": "Minimum password length", "参数接口": "Interfaces", "平台url地址": "Platform URLs",
    "WEBAPI接口": "Web API (webhook) URL", "审批结果、绑定等事件推送到这个地址；可留空，由业务系统自行拉取。":
        "Decisions, bindings and other events are posted here; leave it empty to pull them instead.",
    "对接移动端类型": "Mobile channel", "微信": "WeChat", "钉钉（暂不支持）": "DingTalk (not yet)",
    "企业微信（暂不支持）": "WeCom (not yet)", "微信类型": "WeChat account type", "服务号": "Service account",
    "订阅号（暂不支持）": "Subscription account (not yet)", "小程序（暂不支持）": "Mini program (not yet)",
    "微信服务号AppID": "Service account AppID", "微信服务号Secret": "Service account AppSecret",
    "已设置": "set", "未设置": "not set", "出于安全考虑不显示；填写新值即替换。": "Never shown; typing a new value replaces it.",
    "已设置，留空则不修改": "set; leave empty to keep", "请输入微信服务号Secret": "Enter the AppSecret",
    "微信号列": "WeChat ID column", "开启移动端日志": "Mobile log", "开启系统日志": "System log",
    "服务器配置（与微信后台一致）": "Server configuration (same as in WeChat)", "令牌 (Token)": "Token",
    "消息加解密密钥 (EncodingAESKey)": "EncodingAESKey", "更换后，旧密钥在微信改用新密钥前仍然有效。":
        "After a change the old key keeps working until WeChat uses the new one.",
    "手机端": "Phone pages", "已结束单据在手机端保留天数": "Days closed documents stay on the phone",
    "单据结束后，审批人和抄送人在“已处理”里还能查看这么多天，之后手机端不再显示。":
        "After a document closes its approvers and CC recipients can still read it under History this many days.",
    "手机端显示时区": "Time zone of the phone pages",
    "手机页面上的时间都按这个时区显示，与手机自己的时区无关。":
        "Every time on the phone pages is shown in this zone, whatever the phone's own.",
    "消息加解密方式": "Message encryption", "明文模式": "Plain", "兼容模式": "Compatible", "安全模式（推荐）": "Safe (recommended)",
    "原始 ID": "Original ID", "保存设置": "Save settings", "人员档案登录列": "Login column of the staff file",
    "人员档案职位列": "Position column of the staff file", "人员档案姓名列": "Name column of the staff file",
    "数字": "digits", "字母": "letters", "大写字母": "upper-case letters", "小写字母": "lower-case letters",
    "符号": "symbols", "服务器地址": "Server URL", "菜单入口": "Menu entry",
    "网页授权域名": "Web authorisation domain", "设置已保存。": "Settings saved.",
    "有几项需要修改，设置没有保存。请按红字提示修改后再保存。": "Some fields need changes; nothing was saved. Fix the ones in red and save again.",
    "这个 AppID 已被其他租户使用。": "Another tenant has this AppID.",
    "2 到 32 位小写字母、数字或 -，以字母或数字开头；创建后不能修改": "2 to 32 of a-z, 0-9 and -, starting with a letter or digit; cannot change later",
    "必填，最多 100 个字": "Required, at most 100 characters", "必填，最多 64 个字": "Required, at most 64 characters",
    "请填写 1 到 100 之间的整数": "A whole number from 1 to 100",
    "请填写 0 到 10080 之间的整数，0 表示直到管理员解锁": "A whole number from 0 to 10080 (0: until unlocked)",
    "从数字、字母、符号中选择": "Pick from digits, letters, symbols", "请填写 8 到 128 之间的整数": "A whole number from 8 to 128",
    "以 http:// 或 https:// 开头的公网地址，不能是内网或本机地址": "A public http:// or https:// address, not a private or local one",
    "wx 开头，后跟 16 位字母或数字": "wx followed by 16 letters or digits", "1 到 128 位字母或数字": "1 to 128 letters or digits",
    "3 到 32 位字母或数字": "3 to 32 letters or digits", "正好 43 位字母或数字": "Exactly 43 letters or digits",
    "兼容模式和安全模式需要先填写 EncodingAESKey": "Compatible and safe modes need an EncodingAESKey",
    "gh_ 开头，后跟字母或数字": "gh_ followed by letters or digits", "请填写整数": "Enter a whole number",
    "有一项设置无效，请检查后再保存。": "A setting is not valid; check it and save again.",
    # templates and replies
    "在微信后台“模板消息”中选用模板，把模板 ID 和模板详情里的关键字填在这里。内容中可用：{title} 标题、{type} 单据类型、{applicant} 申请人、{submitted_at} 提交时间、{summary} 摘要、{doc_id} 单号。":
        "Pick templates in WeChat's template messages and enter their ID and keywords here. Values may use "
        "{title}, {type}, {applicant}, {submitted_at}, {summary} and {doc_id}.",
    "审批人通知": "Approver notice", "抄送通知": "Copy notice", "模板 ID": "Template ID",
    "关键字与内容（每行一项）": "Keywords and values (one per line)", "预览（按微信的长度限制截断）": "Preview (cut to WeChat's limits)",
    "填写关键字后点“预览”。": "Enter keywords, then “Preview”.", "预览": "Preview", "保存模板": "Save templates",
    "模板已保存。": "Templates saved.", "请填写微信后台“模板消息”中的模板 ID。": "Enter the template ID from WeChat's template messages.",
    "每行写成 关键字 = 内容，例如 thing1 = {title}；关键字照抄模板详情里的 {{ }} 中的名字。":
        "One “keyword = value” per line, e.g. thing1 = {title}; copy the keywords from the template's details.",
    "每项内容最多 200 个字。": "At most 200 characters per value.", "有几项需要修改，模板没有保存。": "Some fields need changes; nothing was saved.",
    "模板设置无效，没有保存。请检查模板 ID 和关键字。": "The templates are not valid and were not saved: check the IDs and keywords.",
    "启用服务器配置后，微信后台的自动回复不再生效，请在这里设置。“待办”和“todo”已内置。清空一行即删除该规则。":
        "Once the server URL is enabled WeChat's own auto-replies stop: set them here. “待办” and “todo” are "
        "built in. Empty a row to delete it.",
    "匹配方式": "Match", "完全匹配": "exact", "包含": "contains", "关键词": "Keyword", "回复内容": "Reply",
    "保存关键词回复": "Save replies", "关键词回复已保存。": "Replies saved.", "关键词需要 1 到 60 个字。": "A keyword has 1 to 60 characters.",
    "回复内容不能为空，最多约 600 个汉字。": "A reply is needed, at most 2000 bytes.", "最多 200 条规则。": "At most 200 rules.",
    "有几项需要修改，关键词回复没有保存。": "Some rows need changes; nothing was saved.",
    # menu
    "最多 3 个一级菜单，每个最多 5 个子菜单。填写了子菜单的一级菜单只作为分组，点击后展开子菜单。名称留空即不显示。":
        "Up to 3 buttons with up to 5 sub-buttons each. A button with sub-buttons only opens them. Empty names are left out.",
    "一级菜单": "Button", "名称": "Name", "点击后": "Opens", "网址": "URL", "子菜单": "Sub-button",
    "发布到微信": "Publish to WeChat", "已发布过菜单。": "A menu was published.",
    "尚未发布过菜单，下面显示的是推荐的默认菜单。": "No menu published yet; this is the suggested default.",
    "手机预览": "Phone preview", "待办列表": "Inbox", "自助注册": "Registration", "回复待办数": "Reply with the count",
    "解除绑定": "Unbind", "网址…": "URL…", "菜单没有发布：请按红字修改。": "The menu was not published: fix the fields in red.",
    "微信拒绝了这个菜单": "WeChat refused the menu",
    "暂时无法连接微信，或 AppID/Secret、IP 白名单还没有设置好。请先完成接入检查表的第 3、4 步。":
        "WeChat cannot be reached, or the AppID/Secret or IP whitelist is not set up yet: finish steps 3 and 4 of the checklist first.",
    "微信已接受菜单（errcode 0）。手机上通常几分钟内更新，重新关注可立即看到。":
        "WeChat accepted the menu (errcode 0). Phones update within minutes; re-following shows it at once.",
    "子菜单名称太长：最多 60 字节（约 20 个汉字）。": "Sub-button name too long: at most 60 bytes (about 20 Chinese characters).",
    "菜单名称太长：一级菜单最多 4 个汉字或 8 个字母。": "Name too long: at most 4 Chinese characters or 8 letters.",
    "请填写菜单名称。": "Enter a name.", "网址需以 http:// 或 https:// 开头。": "The URL must start with http:// or https://.",
    "网址太长：最多 1024 字节。": "The URL is too long: at most 1024 bytes.", "请至少填写一个菜单。": "Fill in at least one button.",
    "这个菜单项不符合微信的要求。": "WeChat does not accept this button.",
    # verify file, keys
    "在微信后台“设置与开发 → 公众号设置 → 功能设置”中设置网页授权域名时，微信会要求下载一个 MP_verify_….txt 文件。把它原样上传到这里，再回到微信点“确定”。":
        "When you set the web authorisation domain, WeChat asks you to download an MP_verify_….txt file. "
        "Upload it here unchanged, then confirm in WeChat.",
    "校验文件": "Verify file", "上传": "Upload", "已上传": "Uploaded",
    "请选择从微信后台下载的 MP_verify_….txt 文件。": "Choose the MP_verify_….txt file downloaded from WeChat.",
    "这个文件名已被另一个企业上传过，请确认下载的是本服务号的校验文件。": "Another company uploaded a file of this name: check it is this account's file.",
    "文件名应为 MP_verify_ 开头的 .txt 文件，请直接上传微信后台下载的文件，不要改名。":
        "The name must be MP_verify_….txt: upload the file as downloaded, without renaming it.",
    "文件内容不对：应是不超过 1024 字的一行文字。": "The content is not right: one line of at most 1024 characters.",
    "校验文件已上传。请回到微信后台点“确定”完成验证。": "Uploaded. Go back to WeChat and confirm.",
    "API 密钥": "API key", "业务系统调用本网关接口时使用。更换后旧密钥立即失效，请先通知业务系统的技术人员。":
        "The business system's key. The old key stops working at once: tell its technical staff first.",
    "更换 API 密钥": "Rotate the API key", "Webhook 推送": "Webhook", "推送地址": "Address",
    "未设置（在“功能设定”的 WEBAPI接口 中填写）": "not set (the Web API URL on the settings page)",
    "更换签名密钥": "Rotate the signing secret", "发送测试事件": "Send a test event", "接收方回答": "The receiver answered",
    "推送正常。": "Webhooks work.", "接收方没有接受这个事件，请检查它的签名校验和返回值（应返回 2xx）。":
        "The receiver did not accept it: check its signature check and that it answers 2xx.",
    "没有收到回答": "No answer", "新的 API 密钥（旧密钥已立即失效）": "New API key (the old one no longer works)",
    "新的 Webhook 签名密钥（此后的推送都用它签名）": "New webhook signing secret (signs every delivery from now on)",
    "密钥已更换": "Key rotated",
}
