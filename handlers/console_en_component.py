"""English texts of the console's 授权接入 pages and of the checklist in authorized mode."""
from __future__ import annotations

from gateway.onboarding.checklist_authorized import (IP_BLOCKED, MISSING, REFUSED, REVOKED, SUBSCRIPTION,
                                                     UNCERTIFIED)

EN_COMPONENT: dict[str, str] = {
    "授权接入": "Connect by authorization",
    "企业的公众号管理员用微信扫码授权即可接入：无需提供 AppSecret，也不用设置 IP 白名单、服务器地址和域名。":
        "The company's account administrator scans a code with WeChat and confirms: no AppSecret, IP whitelist, "
        "server URL or domains needed.",
    "最近一次收到微信推送的验证票据：": "WeChat's latest verify ticket: ",
    "尚未收到": "not received yet",
    "已收到": "received",
    "把本租户改为授权接入，员工、绑定和单据都会保留。":
        "Move this tenant to authorized mode; its people, bindings and documents are kept.",
    "新企业填一个新代码；已手工接入的企业填它现有的代码，改为授权接入后员工、绑定和单据都会保留。":
        "A new company: a new code. A company connected by hand: its code (people, bindings and documents are kept).",
    "生成授权链接": "Create the authorization link",
    "请公众号管理员用微信扫描下面的二维码，或在电脑上打开授权页面扫码确认。链接在 {n} 分钟内有效，只能使用一次。":
        "Have the account administrator scan this QR code with WeChat, or open the authorization page on a "
        "computer. The link works once, within {n} minutes.",
    "在电脑上打开授权页面": "Open the authorization page on this computer",
    "手机上（微信内）打开：": "On a phone (inside WeChat): ",
    "手机授权链接": "the phone's authorization link",
    "授权完成后，微信会自动回到本系统，继续完成剩下的接入步骤。":
        "After the authorization WeChat brings you back here for the remaining steps.",
    "开放平台的开发资料": "Values for the Open Platform",
    "授权事件接收URL": "Authorization event URL",
    "消息与事件接收URL": "Message and event URL",
    "消息校验Token 与 消息加解密Key 在服务器的设置文件 [component] 中（留空时生成在 var/component_token 和 var/component_aes_key）。":
        "The message Token and EncodingAESKey are in the settings file's [component] (generated into "
        "var/component_token and var/component_aes_key when left empty).",
    "本系统尚未配置第三方平台：请在设置文件的 [component] 中填写开放平台的 AppID 和 AppSecret 后重启。配置前请使用“新建租户”手工接入。":
        "No third-party platform is configured: set the Open Platform's AppID and AppSecret in [component] of the "
        "settings file and restart. Until then, connect tenants by hand with New tenant.",
    "本租户通过第三方平台授权接入：无需 AppSecret、IP 白名单、服务器配置和域名设置。完成下面剩下的步骤即可。":
        "This tenant is connected by authorization: no AppSecret, IP whitelist, server settings or domains. "
        "Finish the remaining steps below.",
    "公众号已解除授权：所有单据提醒已暂停，重新授权后自动恢复。":
        "The account withdrew its authorization: every notification is on hold and resumes once it authorizes again.",
    "授权的公众号": "The authorized account",
    "公众号名称": "Account name",
    "原始 ID": "Original ID",
    "账号类型": "Account type",
    "微信认证": "WeChat certification",
    "已授权的权限集": "Permission sets granted",
    "授权状态": "Authorization",
    "订阅号": "Subscription account",
    "订阅号（老帐号升级）": "Subscription account (upgraded)",
    "服务号": "Service account",
    "未认证": "Not certified",
    "已认证": "Certified",
    "已授权": "Authorized",
    "已解除授权": "Withdrawn",
    "已解除授权，提醒暂停": "Authorization withdrawn: notifications on hold",
    "授权成功，租户已创建": "Authorized: the tenant is created",
    "授权接入（公众号管理员扫码授权）": "Authorization (the account administrator scans and confirms)",
    "授权所需的权限集": "Permission sets granted",
    "认证微信服务号": "WeChat certification",
    "首个员工绑定": "First binding",
    REVOKED: "「{name}」 withdrew its authorization of this platform: every notification is on hold. Have its "
             "administrator authorize again under Connect by authorization; held notifications then go out.",
    REFUSED: "WeChat no longer accepts the platform's calls for this account: authorize again under Connect by "
             "authorization.",
    IP_BLOCKED: "WeChat refused the platform's egress IP {ip}: add {ip} to the IP whitelist in the Open "
                "Platform's development settings.",
    MISSING: "Not granted: {missing}. Authorize again and tick these permission sets, or those features do not work.",
    SUBSCRIPTION: "A subscription account was authorized: only a service account can send template messages.",
    UNCERTIFIED: "The service account is not certified yet: template messages and web sign-in need WeChat "
                 "certification (Settings → WeChat certification).",
    "在“广告与服务 → 模板消息”中选好审批和抄送两个模板，把模板 ID 填到本系统的模板页。":
        "In WeChat's template messages pick the approval and copy templates and enter their IDs on the templates page.",
    "在本系统的菜单页编辑并发布菜单。": "Edit and publish the menu on the menu page.",
    "请用手机微信打开服务号菜单，登录一次完成首个绑定。":
        "Open the account's menu in WeChat on a phone and sign in once to make the first binding.",
    "企业代码须为 2 到 32 位小写字母、数字或 -，且不能是保留字。":
        "The company code is 2 to 32 lower-case letters, digits or -, and not a reserved word.",
    "请填写企业名称（不超过 100 个字）。": "Enter the company's name (at most 100 characters).",
    "授权请求无效或已过期，请重新发起授权接入。": "This authorization is not valid or has expired: start it again.",
    "微信没有返回授权码：公众号管理员可能取消了授权。请重新发起授权接入。":
        "WeChat returned no authorization code (the administrator may have cancelled): start again.",
    "还没有收到微信推送的 component_verify_ticket（每 10 分钟一次）：请确认开放平台的“授权事件接收URL”填写为 {events}，稍后再试。":
        "No component_verify_ticket from WeChat yet (it comes every 10 minutes): check that the Open Platform's "
        "authorization event URL is {events}, then try again.",
    "微信不认可平台的 component_verify_ticket：请等下一次推送（10 分钟内）后再试。":
        "WeChat refused the platform's component_verify_ticket: try again after the next push (within 10 minutes).",
    "微信拒绝了本平台的出口 IP：请在开放平台的“白名单IP地址列表”中加入本系统的出口 IP。":
        "WeChat refused the platform's egress IP: add it to the Open Platform's IP whitelist.",
    "开放平台的 AppSecret 不正确：请核对设置文件中 [component] app_secret。":
        "The Open Platform AppSecret is wrong: check [component] app_secret in the settings file.",
    "开放平台的 AppID 不正确：请核对设置文件中 [component] app_id。":
        "The Open Platform AppID is wrong: check [component] app_id in the settings file.",
    "微信暂时无法完成请求（错误码 {code}），请稍后再试。": "WeChat could not complete the request (error {code}): try again later.",
}
