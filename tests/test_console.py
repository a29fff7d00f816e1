"""The console over HTTP: sign-in (operator token, tenant administrators with a first password
changed at first sign-in), lockout, tenant isolation (404 for another tenant's pages), XSRF,
sessions (cookie flags, idle timeout, sign-out), TOTP, and the settings form's save and errors."""
from __future__ import annotations

import re

import pyotp

from console_client import NEW_PASSWORD, ConsoleClient
from gateway.console.sessions import IDLE_SECONDS
from gateway.platform.clock import Clock

SEED_LABELS = ("人员档案登录列", "人员档案职位列", "系统是多租户", "允许手机端注册", "登录允许密码错误次数",
               "首次登录必须修改密码", "密码复杂度控制", "平台url地址", "WEBAPI接口", "对接移动端类型", "微信类型",
               "微信服务号AppID", "微信服务号Secret", "微信号列", "开启移动端日志", "开启系统日志")


def tenant_urls(slug: str) -> list[str]:
    pages = ("", "settings", "templates", "replies", "menu", "verify", "keys", "admins", "delete")
    return [f"/console/t/{slug}/{page}" for page in pages]


async def test_operator_signs_in_with_the_token_and_sees_the_tenants(env) -> None:
    async with env.gateway() as g:
        await g.create_tenant("acme")
        c = ConsoleClient(g)
        first = await c.get("/console/")
        assert first.status == 302 and first.headers["Location"].startswith("/console/login?next=")
        wrong = await c.post("/console/login", {"operator_token": "not-the-token"})
        assert wrong.status == 401 and "运营方令牌不正确" in wrong.text
        await c.sign_in_operator()
        home = await c.get("/console/")
        assert home.status == 200 and 'data-slug="acme"' in home.text and "接入进度" in home.text
        settings = await c.get("/console/t/acme/settings")
        assert settings.status == 200
        for label in SEED_LABELS:
            assert label in settings.text, label
        assert "s3cretAppSecret" not in settings.text and "tokacme" not in settings.text  # write-only
        assert "已设置" in settings.text
        english = await c.get("/console/lang?to=en&next=/console/t/acme/settings")
        assert english.status == 302
        page = await c.get("/console/t/acme/settings")
        assert "Save settings" in page.text and 'lang="en"' in page.text


async def test_a_tenant_admin_sees_only_their_own_tenant(env) -> None:
    async with env.gateway() as g:
        await g.create_tenant("acme")
        await g.create_tenant("beta")
        op = ConsoleClient(g)
        await op.sign_in_operator()
        password = await op.create_admin("acme", "alice")
        admin = ConsoleClient(g)
        await admin.sign_in_admin("acme", "alice", password)
        home = await admin.get("/console/")
        assert home.status == 302 and home.headers["Location"] == "/console/t/acme/"
        for url in tenant_urls("beta") + ["/console/t/nosuch/"]:
            assert (await admin.get(url)).status == 404, url
            if not url.endswith("/"):
                assert (await admin.post(url, {"action": "api_key"})).status == 404, url
        for url in ("/console/operators", "/console/tenants/new", "/console/t/acme/admins", "/console/t/acme/delete"):
            assert (await admin.get(url)).status == 404, url
        for url in tenant_urls("acme")[:7]:
            assert (await admin.get(url)).status == 200, url


async def test_first_password_must_be_changed_and_weak_ones_are_refused(env) -> None:
    async with env.gateway() as g:
        await g.create_tenant("acme")
        op = ConsoleClient(g)
        await op.sign_in_operator()
        password = await op.create_admin("acme", "alice")
        admin = ConsoleClient(g)
        assert (await admin.post("/console/login", {"slug": "acme", "login": "alice", "password": password})).status == 302
        assert (await admin.get("/console/t/acme/settings")).headers["Location"] == "/console/account/password"
        short = await admin.post("/console/account/password", {"current": password, "new": "short"})
        assert short.status == 400 and "至少需要 10 个字符" in short.text
        wrong = await admin.post("/console/account/password", {"current": "nope", "new": NEW_PASSWORD})
        assert wrong.status == 400 and "当前密码不正确" in wrong.text
        ok = await admin.post("/console/account/password", {"current": password, "new": NEW_PASSWORD})
        assert ok.status == 302
        assert (await admin.get("/console/t/acme/settings")).status == 200
        again = ConsoleClient(g)
        old = await again.post("/console/login", {"slug": "acme", "login": "alice", "password": password})
        assert old.status == 401


async def test_wrong_passwords_lock_the_console_account(env) -> None:
    async with env.gateway() as g:
        await g.create_tenant("acme", policy={"max_login_failures": 3})
        op = ConsoleClient(g)
        await op.sign_in_operator()
        password = await op.create_admin("acme", "alice")
        c = ConsoleClient(g)
        first = await c.post("/console/login", {"slug": "acme", "login": "alice", "password": "wrong-1"})
        assert first.status == 401 and "还可以再试 2 次" in first.text
        await c.post("/console/login", {"slug": "acme", "login": "alice", "password": "wrong-2"})
        third = await c.post("/console/login", {"slug": "acme", "login": "alice", "password": "wrong-3"})
        assert third.status == 401 and "已锁定" in third.text
        right = await c.post("/console/login", {"slug": "acme", "login": "alice", "password": password})
        assert right.status == 423 and "已锁定" in right.text and "gw_console" not in c.cookies
        unknown = [await c.post("/console/login", {"slug": "acme", "login": "ghost", "password": "x" * 12})
                   for _ in range(4)]
        assert [r.status for r in unknown] == [401, 401, 401, 423]  # unknown logins count alike
        nosuch = await c.post("/console/login", {"slug": "nosuch", "login": "alice", "password": password})
        assert nosuch.status == 401 and "企业代码、账号或密码不正确" in nosuch.text
        audit = (await g.admin("GET", "/admin/api/tenants/acme/audit?limit=1000")).json["items"]
        actions = [a["action"] for a in audit]
        assert "console.account_locked" in actions and actions.count("console.login.failed") >= 4
        assert password not in str(audit)
        # The operator resets it: unlocked, a new first password.
        admins = await op.get("/console/t/acme/admins")
        account_id = re.search(r'name="account_id" value="(\d+)"', admins.text).group(1)
        reset = await op.post("/console/t/acme/admins", {"action": "reset", "account_id": account_id})
        fresh = re.search(r'id="new-password">([^<]+)<', reset.text).group(1)
        assert (await ConsoleClient(g).post("/console/login", {"slug": "acme", "login": "alice",
                                                                "password": fresh})).status == 302


async def test_forms_need_the_xsrf_token_and_a_session(env) -> None:
    async with env.gateway() as g:
        await g.create_tenant("acme")
        c = ConsoleClient(g)
        await c.sign_in_operator()
        before = g.gw.registry.require("acme").revision
        refused = await c.post("/console/t/acme/settings", {"name": "Changed"}, xsrf=False)
        assert refused.status == 403
        anonymous = ConsoleClient(g)
        await anonymous.get("/console/login")
        assert (await anonymous.post("/console/t/acme/settings", {"name": "Changed"})).status == 403
        assert g.gw.registry.require("acme").revision == before


async def test_session_cookie_idle_timeout_and_sign_out(env) -> None:
    clock = Clock()
    async with env.gateway(clock=clock) as g:
        c = ConsoleClient(g)
        await c.get("/console/login")
        response = await c.post("/console/login", {"operator_token": "op_test_" + "x" * 24})
        cookie = next(h for h in response.headers.get_list("Set-Cookie") if h.startswith("gw_console="))
        assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Path=/console" in cookie
        assert "Secure" not in cookie  # public_url is http in the tests
        assert (await c.get("/console/")).status == 200
        clock.advance(IDLE_SECONDS - 120)
        assert (await c.get("/console/")).status == 200  # activity keeps it alive
        clock.advance(IDLE_SECONDS + 1)
        assert (await c.get("/console/")).status == 302
        await c.sign_in_operator()
        token = c.cookies["gw_console"]
        assert (await c.post("/console/logout")).status == 302
        c.cookies["gw_console"] = token  # a copied cookie is worthless after sign-out
        assert (await c.get("/console/")).status == 302


async def test_totp_required_by_the_operator(env) -> None:
    async with env.gateway() as g:
        await g.create_tenant("acme")
        op = ConsoleClient(g)
        await op.sign_in_operator()
        password = await op.create_admin("acme", "alice", totp=True)
        admin = ConsoleClient(g)
        await admin.sign_in_admin("acme", "alice", password)
        enrol = await admin.get("/console/t/acme/settings")
        assert enrol.status == 302 and enrol.headers["Location"] == "/console/account/totp"
        page = await admin.get("/console/account/totp")
        secret = re.search(r'id="totp-secret" class="secret">([A-Z2-7]+)<', page.text).group(1)
        bad = await admin.post("/console/account/totp", {"secret": secret, "code": "000000"})
        assert bad.status == 400 and "验证码不正确" in bad.text
        assert (await admin.post("/console/account/totp", {"secret": secret,
                                                           "code": pyotp.TOTP(secret).now()})).status == 302
        assert (await admin.get("/console/t/acme/settings")).status == 200
        c = ConsoleClient(g)
        no_code = await c.post("/console/login", {"slug": "acme", "login": "alice", "password": NEW_PASSWORD})
        assert no_code.status == 401
        with_code = await c.post("/console/login", {"slug": "acme", "login": "alice", "password": NEW_PASSWORD,
                                                    "code": pyotp.TOTP(secret).now()})
        assert with_code.status == 302


def settings_form(**changes: str) -> list[tuple[str, str]]:
    fields = {"name": "Acme 制造", "login_column": "工号", "name_column": "姓名", "position_column": "职位",
              "wechat_column": "微信号", "max_login_failures": "6", "lockout_minutes": "20",
              "password_min_length": "10", "webapi_url": "", "app_id": "wx61636d6530303030", "original_id": "",
              "message_mode": "plain", "first_login_change_password": "on", "log_system": "on", **changes}
    return list(fields.items()) + [("password_classes", "digit"), ("password_classes", "letter")]


async def test_settings_save_through_the_registry_and_errors_save_nothing(env) -> None:
    async with env.gateway() as g:
        await g.create_tenant("acme")
        op = ConsoleClient(g)
        await op.sign_in_operator()
        password = await op.create_admin("acme", "alice")
        c = ConsoleClient(g)
        await c.sign_in_admin("acme", "alice", password)
        saved = await c.post("/console/t/acme/settings", settings_form(app_secret="NewSecret123", login_column="员工号"))
        assert saved.status == 302 and saved.headers["Location"] == "/console/t/acme/settings?saved=1"
        tenant = g.gw.registry.require("acme")
        assert tenant.policy["max_login_failures"] == 6 and tenant.policy["password_classes"] == ["digit", "letter"]
        assert tenant.people["login_column"] == "员工号" and tenant.secrets.app_secret == "NewSecret123"
        assert tenant.secrets.token == "tokacme"  # left empty: kept
        assert tenant.logging == {"mobile": False, "system": True}
        audit = (await g.admin("GET", "/admin/api/tenants/acme/audit?limit=1000")).json["items"]
        change = [a for a in audit if a["action"] == "tenant.changed"][-1]
        assert change["actor"] == "console:alice" and "NewSecret123" not in str(audit)
        revision = tenant.revision
        bad = await c.post("/console/t/acme/settings", settings_form(
            app_id="wx123", max_login_failures="abc", lockout_minutes="-3", webapi_url="http://127.0.0.1/hook",
            name="Renamed"))
        assert bad.status == 400
        assert re.search(r'id="error-max_login_failures">请填写整数<', bad.text)
        assert 'value="Renamed"' in bad.text  # what was typed is shown again
        assert g.gw.registry.require("acme").revision == revision and g.gw.registry.require("acme").name != "Renamed"
        bad2 = await c.post("/console/t/acme/settings", settings_form(app_id="wx123", webapi_url="http://127.0.0.1/x",
                                                                       token="ab", message_mode="safe"))
        assert bad2.status == 400
        for name, text in (("app_id", "wx 开头"), ("webapi_url", "不能是内网"), ("token", "3 到 32 位")):
            assert re.search(rf'id="error-{name}">[^<]*{text}', bad2.text), name
        assert g.gw.registry.require("acme").revision == revision


async def test_operator_accounts_sign_in_without_a_company_code(env) -> None:
    async with env.gateway() as g:
        await g.create_tenant("acme")
        op = ConsoleClient(g)
        await op.sign_in_operator()
        created = await op.post("/console/operators", {"action": "create", "login": "ops1"})
        first = re.search(r'id="new-password">([^<]+)<', created.text).group(1)
        c = ConsoleClient(g)
        as_tenant = await c.post("/console/login", {"slug": "acme", "login": "ops1", "password": first})
        assert as_tenant.status == 401  # an operator account is no administrator of acme
        ok = await c.post("/console/login", {"slug": "", "login": "ops1", "password": first})
        assert ok.status == 302
        assert (await c.post("/console/account/password", {"current": first, "new": NEW_PASSWORD})).status == 302
        home = await c.get("/console/")
        assert home.status == 200 and 'data-slug="acme"' in home.text
        accounts = await op.get("/console/operators")
        account_id = re.search(r'name="account_id" value="(\d+)"', accounts.text).group(1)
        assert (await op.post("/console/operators", {"action": "delete", "account_id": account_id})).status == 200
        assert (await c.get("/console/")).status == 302  # its sessions ended with it


async def test_webhook_secret_rotation_and_a_refused_test_event(env) -> None:
    from harness import Receiver
    from standardwebhooks.webhooks import Webhook
    async with env.gateway(security={"allow_private_webhooks": True}) as g, Receiver(default=500) as receiver:
        await g.create_tenant("acme", webapi_url=receiver.url())
        c = ConsoleClient(g)
        await c.sign_in_operator()
        refused = await c.post("/console/t/acme/keys", {"action": "test_event"})
        assert refused.status == 200 and "HTTP 500" in refused.text and "接收方没有接受" in refused.text
        rotated = await c.post("/console/t/acme/keys", {"action": "webhook_secret"})
        secret = re.search(r'id="secret-0">([^<]+)<', rotated.text).group(1)
        assert secret.startswith("whsec_") and g.gw.registry.require("acme").secrets.webhook_secret == secret
        receiver.default = 204
        accepted = await c.post("/console/t/acme/keys", {"action": "test_event"})
        assert "HTTP 204" in accepted.text
        last = receiver.requests[-1]
        headers = {k.lower(): v for k, v in last["headers"].items()}
        payload = Webhook(secret).verify(last["body"], headers)  # the receiver's own library accepts it
        assert payload["type"] == "gateway.test" and payload["tenant"] == "acme"
        audit = (await g.admin("GET", "/admin/api/tenants/acme/audit?limit=1000")).json["items"]
        assert "tenant.webhook_secret_rotated" in [a["action"] for a in audit] and secret not in str(audit)
