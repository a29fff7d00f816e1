"""Issue 14, accounts: each attack the adversarial review found, reproduced and refused —
pre-hijacking through self-registration, enumeration by status or registration answers, bursts
past the per-IP limit, registration floods, and client addresses behind a proxy."""
from __future__ import annotations

import asyncio
from typing import Any

from gateway.accounts.client_ip import client_ip, ip_bucket
from phone import Phone
from test_import import csv_bytes, post_file
from wechat_env import WeChatEnv, wechat_env

PW = "Tr0ub4dor&3x!"
STRANGER_PW = "Str4nger-Pa55word!"
TENANT_PW = "C0mpany-Chosen#9"
OPEN = {"allow_mobile_registration": True}


def count_kdf(wx: WeChatEnv) -> dict[str, int]:
    """Counts the hasher's verify and hash calls (each one KDF run) from now on."""
    hasher, counts = wx.g.gw.hasher, {"verify": 0, "hash": 0}
    for name in counts:
        original = getattr(hasher, name)

        async def counted(*args: Any, _name: str = name, _original: Any = original, **kwargs: Any) -> Any:
            counts[_name] += 1
            return await _original(*args, **kwargs)
        setattr(hasher, name, counted)
    return counts


async def oauth_phone(wx: WeChatEnv, openid: str, next_page: str = "register", **headers: str) -> Phone:
    phone = wx.phone(**headers)
    await wx.use_openid(wx.slug, openid)
    r = await phone.open_entry(next_page)
    assert r.status == 302
    return phone


async def register(phone: Phone, login: str, password: str = STRANGER_PW, **headers: str) -> Any:
    return await phone.api("register", {"login": login, "name": "王五", "password": password}, headers=headers)


async def sign_in(wx: WeChatEnv, login: str, password: str, openid: str = "o_signin") -> Any:
    phone = await oauth_phone(wx, openid, "inbox")
    return await phone.api("login", {"login": login, "password": password})


async def test_a_tenant_put_or_import_never_takes_over_a_pending_self_registration(env):
    async with wechat_env(env, policy=OPEN) as wx:
        stranger = await oauth_phone(wx, "o_stranger")
        assert (await register(stranger, "wang")).status == 201
        # The company now creates its real employee "wang": the attack would keep the stranger's password.
        for body in ({"name": "王五", "kind": "employee", "password": TENANT_PW},
                     {"name": "王五", "active": True}, {"name": "王五"}):
            r = await wx.tenant_api("PUT", "/accounts/WANG", body)
            assert r.status == 409 and r.json["error"]["code"] == "conflict", r.text
            assert r.json["error"]["details"]["status"] == "pending"
        r = await post_file(wx, csv_bytes([["工号", "姓名"], ["ok1", "甲"], ["wang", "王五"]]), "text/csv")
        assert r.status == 422 and r.json["error"]["details"]["rows"][0]["row"] == 3
        assert (await wx.tenant_api("GET", "/accounts/ok1")).status == 404  # nothing imported
        view = (await wx.tenant_api("GET", "/accounts/wang")).json
        assert view["status"] == "pending"
        assert (await sign_in(wx, "wang", STRANGER_PW)).json["error"]["code"] == "account_pending"
        # The tenant refuses it (depart), then creates its own account: the stranger's password is gone.
        assert (await wx.tenant_api("POST", "/accounts/wang/depart")).json["status"] == "departed"
        r = await wx.tenant_api("PUT", "/accounts/wang", {"name": "王五", "active": True})
        assert r.status == 200 and r.json["status"] == "active"
        r = await sign_in(wx, "wang", STRANGER_PW)
        assert r.status == 401 and r.json["error"]["code"] == "bad_credentials"
        await wx.tenant_api("PUT", "/accounts/wang", {"password": TENANT_PW})
        assert (await sign_in(wx, "wang", TENANT_PW, "o_real")).status == 200
        audit = await wx.audit()
        assert any(e["action"] == "account.departed" and e["detail"].get("registration_refused") for e in audit)


async def test_approval_stays_the_one_way_a_registrants_password_works(env):
    async with wechat_env(env, policy=OPEN) as wx:
        assert (await register(await oauth_phone(wx, "o_li"), "li")).status == 201
        assert (await wx.tenant_api("POST", "/accounts/li/approve")).json["status"] == "active"
        assert (await sign_in(wx, "li", STRANGER_PW, "o_li")).status == 200


async def test_departed_pending_active_and_unknown_answer_a_wrong_password_alike(env):
    async with wechat_env(env, policy={**OPEN, "max_login_failures": 5}) as wx:
        await wx.put_account("active1", PW)
        await wx.put_account("gone1", PW)
        await wx.tenant_api("POST", "/accounts/gone1/depart")
        assert (await register(await oauth_phone(wx, "o_p"), "pend1", PW)).status == 201
        phone = await oauth_phone(wx, "o_probe", "inbox")
        kdf = count_kdf(wx)
        answers = {}
        for login in ("active1", "gone1", "pend1", "nobody1"):
            before = kdf["verify"]
            r = await phone.api("login", {"login": login, "password": "Wr0ng-password!"})
            answers[login] = (r.status, r.json)
            assert kdf["verify"] - before == 1, login  # one KDF run each
        assert len({str(a) for a in answers.values()}) == 1, answers
        assert answers["gone1"] == (401, {"error": {"code": "bad_credentials", "message": answers["gone1"][1]["error"]["message"],
                                                    "details": {"remaining_attempts": 4}}})
        # Only the right password learns the status (and it is not counted as a failure).
        for _ in range(6):
            r = await phone.api("login", {"login": "gone1", "password": PW})
            assert r.status == 403 and r.json["error"]["code"] == "account_disabled"
            r = await phone.api("login", {"login": "pend1", "password": PW})
            assert r.status == 403 and r.json["error"]["code"] == "account_pending"


async def test_registration_answers_an_existing_login_like_a_new_one(env):
    async with wechat_env(env, policy=OPEN) as wx:
        await wx.put_account("zhang", PW, name="张三")
        phone = await oauth_phone(wx, "o_x")
        kdf = count_kdf(wx)
        taken = await register(phone, "Zhang")
        hashes_taken = kdf["hash"]
        new = await register(phone, "fresh1")
        assert (taken.status, taken.json) == (new.status, new.json) == (201, {"status": "pending"})
        assert hashes_taken == 1 and kdf["hash"] == 2  # the same work either way
        view = (await wx.tenant_api("GET", "/accounts/zhang")).json
        assert view["status"] == "active" and view["name"] == "张三"
        assert (await sign_in(wx, "zhang", PW)).status == 200
        assert (await sign_in(wx, "zhang", STRANGER_PW, "o_x2")).status == 401
        ignored = [e for e in await wx.audit() if e["action"] == "account.registration_ignored"]
        assert [(e["subject"], e["detail"]["reason"]) for e in ignored] == [("zhang", "login_exists")]
        assert [e["data"]["login"] for e in await wx.events() if e["type"] == "account.registered"] == ["fresh1"]


async def test_registration_is_limited_per_ip_and_per_openid(env):
    async with wechat_env(env, policy=OPEN, server={"trusted_proxies": ["127.0.0.1"]}) as wx:
        phone = await oauth_phone(wx, "o_same")
        for i in range(3):
            r = await register(phone, f"u{i}", **{"X-Forwarded-For": f"198.51.100.{i}"})
            assert r.status == 201
        r = await register(phone, "u3", **{"X-Forwarded-For": "198.51.100.99"})  # a 4th, from another IP
        assert r.status == 429 and r.json["error"]["code"] == "rate_limited"
        assert (await wx.tenant_api("GET", "/accounts/u3")).status == 404
        statuses = []
        for i in range(11):  # one network, many WeChat users
            other = await oauth_phone(wx, f"o_ip{i}")
            statuses.append((await register(other, f"v{i}", **{"X-Forwarded-For": "203.0.113.7"})).status)
        assert statuses == [201] * 10 + [429], statuses
        other = await oauth_phone(wx, "o_elsewhere")
        assert (await register(other, "w1", **{"X-Forwarded-For": "203.0.113.8"})).status == 201


async def test_parallel_attempts_from_one_ip_never_pass_its_limit(env):
    async with wechat_env(env, security={"ip_login_failures": 5}, policy={"max_login_failures": 50}) as wx:
        await wx.put_account("zhang", PW)
        phone = await oauth_phone(wx, "o_burst", "inbox")
        kdf = count_kdf(wx)
        answers = await asyncio.gather(*(phone.api("login", {"login": f"user{i}", "password": "Spring2024!x"})
                                         for i in range(40)))
        statuses = sorted(r.status for r in answers)
        assert statuses == [401] * 5 + [429] * 35, statuses
        assert kdf["verify"] == 5
        assert (await phone.api("login", {"login": "zhang", "password": PW})).status == 429


async def test_only_the_named_header_from_a_trusted_proxy_is_believed(env):
    proxies = {"trusted_proxies": ["127.0.0.1", "10.0.0.0/8"]}
    async with wechat_env(env, server=proxies, security={"ip_login_failures": 2}) as wx:
        await wx.put_account("zhang", PW)
        phone = await oauth_phone(wx, "o_p1", "inbox")
        for spoof in ("1.1.1.1", "2.2.2.2"):  # left-hand entries are the client's to forge
            r = await phone.api("login", {"login": "x", "password": "Spring2024!x"},
                                headers={"X-Forwarded-For": f"{spoof}, 203.0.113.5, 10.1.2.3"})
            assert r.status == 401
        r = await phone.api("login", {"login": "zhang", "password": PW}, headers={"X-Forwarded-For": "203.0.113.5"})
        assert r.status == 429
        # X-Real-Ip is not the configured header: a client cannot use it to escape the limit.
        r = await phone.api("login", {"login": "zhang", "password": PW},
                            headers={"X-Real-Ip": "192.0.2.1", "X-Forwarded-For": "203.0.113.5"})
        assert r.status == 429
        for address in ("2001:db8:1:2::1", "2001:db8:1:2:ffff::9"):  # one /64
            r = await phone.api("login", {"login": "x", "password": "Spring2024!x"}, headers={"X-Forwarded-For": address})
            assert r.status == 401
        r = await phone.api("login", {"login": "zhang", "password": PW}, headers={"X-Forwarded-For": "2001:db8:1:2::77"})
        assert r.status == 429
        r = await phone.api("login", {"login": "zhang", "password": PW}, headers={"X-Forwarded-For": "2001:db8:1:3::1"})
        assert r.status == 200
    async with wechat_env(env, ("beta",), server={**proxies, "client_ip_header": "X-Real-Ip"},
                          security={"ip_login_failures": 1}) as wx:
        await wx.put_account("zhang", PW)
        phone = await oauth_phone(wx, "o_p2", "inbox")
        r = await phone.api("login", {"login": "x", "password": "Spring2024!x"}, headers={"X-Real-Ip": "192.0.2.9"})
        assert r.status == 401
        r = await phone.api("login", {"login": "zhang", "password": PW},
                            headers={"X-Real-Ip": "192.0.2.9", "X-Forwarded-For": "198.51.100.1"})
        assert r.status == 429


def test_client_ip_rules():
    trusted = ["10.0.0.0/8"]
    xff = {"X-Forwarded-For": "6.6.6.6, 203.0.113.9, 10.0.0.2"}
    assert client_ip("198.51.100.1", xff, trusted) == "198.51.100.1"  # not from a proxy: the peer
    assert client_ip("10.0.0.1", xff, trusted) == "203.0.113.9"
    assert client_ip("10.0.0.1", {"X-Real-Ip": "6.6.6.6"}, trusted) == "10.0.0.1"
    assert client_ip("10.0.0.1", {"X-Real-Ip": "6.6.6.6"}, trusted, "X-Real-Ip") == "6.6.6.6"
    assert client_ip("10.0.0.1", {"X-Forwarded-For": "6.6.6.6, junk, 203.0.113.9"}, trusted) == "203.0.113.9"
    assert client_ip("10.0.0.1", {"X-Forwarded-For": "6.6.6.6, junk"}, trusted) == "10.0.0.1"
    assert ip_bucket("2001:db8::1") == ip_bucket("2001:db8::ffff:1") == "2001:db8::/64"
    assert ip_bucket("2001:db8:0:1::1") != ip_bucket("2001:db8::1")
    assert ip_bucket("::ffff:192.0.2.5") == "192.0.2.5" and ip_bucket("192.0.2.5") == "192.0.2.5"
