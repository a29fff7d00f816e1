"""Password sign-in under the tenant's limits: lockout after N failures (injected clock, no
sleeps), no counting while locked, reset on success, tenant unlock, permanent lockout, 50
parallel attempts, unknown logins answered like wrong passwords, case/NFKC variants, the per-IP
limit and trusted proxies, counters across restarts and without the cache, rehash, audit."""
from __future__ import annotations

import asyncio
import statistics
import time

import pytest

from gateway.cache import CacheError
from gateway.platform.clock import Clock
from gateway.accounts.passwords import PasswordHasher, ScryptParams
from phone import Phone
from wechat_env import WeChatEnv, wechat_env

PW = "Tr0ub4dor&3x!"


async def ready_phone(wx: WeChatEnv, openid: str = "o_1", slug: str = "acme", **headers: str) -> Phone:
    """A phone that went through OAuth and stands on the login page (holds the openid cookie)."""
    phone = wx.phone(slug, **headers)
    await wx.use_openid(slug, openid)
    r = await phone.open_entry()
    assert r.status == 302 and "/login" in r.headers["Location"]
    return phone


async def login(phone: Phone, who: str, password: str) -> tuple[int, dict]:
    r = await phone.api("login", {"login": who, "password": password})
    return r.status, r.json


async def test_lockout_after_max_failures_and_expiry_on_the_clock(env):
    clock = Clock()
    async with wechat_env(env, clock=clock, policy={"max_login_failures": 3, "lockout_minutes": 15}) as wx:
        await wx.put_account("zhang", PW)
        phone = await ready_phone(wx)
        for remaining in (2, 1):
            status, body = await login(phone, "zhang", "wrong-password-1")
            assert status == 401 and body["error"]["code"] == "bad_credentials"
            assert body["error"]["details"] == {"remaining_attempts": remaining}
        status, body = await login(phone, "zhang", "wrong-password-1")
        assert status == 401 and body["error"]["details"]["remaining_attempts"] == 0
        locked_until = body["error"]["details"]["locked_until"]
        status, body = await login(phone, "zhang", PW)  # the right password while locked
        assert status == 423 and body["error"]["code"] == "locked"
        assert body["error"]["details"]["locked_until"] == locked_until
        assert locked_until.endswith("+00:00")
        view = (await wx.tenant_api("GET", "/accounts/zhang")).json
        assert view["locked_until"] == locked_until
        clock.advance(10 * 60)
        phone = await ready_phone(wx)  # the openid cookie of the OAuth step lasts ten minutes
        for _ in range(3):  # attempts while locked neither count nor extend the lock
            status, body = await login(phone, "zhang", "wrong-password-1")
            assert status == 423 and body["error"]["details"]["locked_until"] == locked_until
        clock.advance(5 * 60 + 1)
        phone = await ready_phone(wx)
        status, body = await login(phone, "zhang", PW)
        assert status == 200, body
        assert (await wx.tenant_api("GET", "/accounts/zhang")).json["locked_until"] is None


async def test_success_resets_the_count_and_tenant_unlocks(env):
    async with wechat_env(env, policy={"max_login_failures": 3, "lockout_minutes": 0}) as wx:
        await wx.put_account("zhang", PW)
        phone = await ready_phone(wx)
        for _ in range(2):
            assert (await login(phone, "zhang", "nope-nope-nope"))[0] == 401
        assert (await login(phone, "zhang", PW))[0] == 200
        await phone.api("logout")
        phone = await ready_phone(wx)
        for remaining in (2, 1, 0):
            status, body = await login(phone, "zhang", "nope-nope-nope")
            assert body["error"]["details"]["remaining_attempts"] == remaining
        status, body = await login(phone, "zhang", PW)
        assert status == 423 and body["error"]["details"]["locked_until"].startswith("9999-12-31")
        r = await wx.tenant_api("POST", "/accounts/zhang/unlock")
        assert r.status == 200 and r.json["locked_until"] is None
        assert (await login(phone, "zhang", PW))[0] == 200
        actions = [e["action"] for e in await wx.audit()]
        for action in ("login.failed", "login.locked", "account.locked", "account.unlocked", "login.ok"):
            assert action in actions


async def test_fifty_parallel_wrong_passwords_check_at_most_the_limit(env):
    async with wechat_env(env, policy={"max_login_failures": 5}, security={"ip_login_failures": 1000}) as wx:
        await wx.put_account("zhang", PW)
        phone = await ready_phone(wx)
        accounts = wx.g.gw.accounts
        checked = 0
        real_verify = accounts.hasher.verify

        async def counting_verify(password: str, encoded: str, *rest: object) -> bool:
            nonlocal checked
            checked += 1
            return await real_verify(password, encoded, *rest)  # type: ignore[arg-type]

        accounts.hasher.verify = counting_verify  # type: ignore[method-assign]
        results = await asyncio.gather(*(login(phone, "zhang", f"wrong-{i}-password") for i in range(50)))
        statuses = [s for s, _ in results]
        assert checked <= 5
        assert statuses.count(401) == checked and statuses.count(423) == 50 - checked
        assert (await login(phone, "zhang", PW))[0] == 423


async def test_unknown_login_answers_like_a_wrong_password(env):
    async with wechat_env(env, policy={"max_login_failures": 3}) as wx:
        await wx.put_account("zhang", PW)
        phone = await ready_phone(wx)
        for _ in range(3):
            wrong = await phone.api("login", {"login": "zhang", "password": "bad-password-x"})
            unknown = await phone.api("login", {"login": "nobody", "password": "bad-password-x"})
            assert wrong.status == unknown.status
            assert wrong.body == unknown.body or wrong.json["error"]["details"].keys() == \
                unknown.json["error"]["details"].keys()
            assert {k: v for k, v in wrong.json["error"].items() if k != "details"} == \
                {k: v for k, v in unknown.json["error"].items() if k != "details"}
            assert wrong.json["error"]["details"]["remaining_attempts"] == \
                unknown.json["error"]["details"]["remaining_attempts"]
        wrong = await phone.api("login", {"login": "zhang", "password": "bad-password-x"})
        unknown = await phone.api("login", {"login": "nobody", "password": "bad-password-x"})
        assert wrong.status == unknown.status == 423


async def test_unknown_and_wrong_take_similar_time(env):
    # Real-cost hashing here (2^14) so the comparison is about the KDF, not test noise.
    async with wechat_env(env, security={"password_hash_n": 2**14, "ip_login_failures": 1000},
                          policy={"max_login_failures": 100}) as wx:
        await wx.put_account("zhang", PW)
        phone = await ready_phone(wx)
        timings: dict[str, list[float]] = {"zhang": [], "nobody": []}
        kdf_runs: dict[str, int] = {"zhang": 0, "nobody": 0}
        import gateway.accounts.passwords as passwords_module
        real_kdf = passwords_module._kdf
        current = ["zhang"]

        def counting_kdf(*args, **kwargs):
            kdf_runs[current[0]] += 1
            return real_kdf(*args, **kwargs)
        passwords_module._kdf = counting_kdf
        try:
            for i in range(16):
                for who in ("zhang", "nobody"):
                    current[0] = who
                    started = time.perf_counter()
                    status, _ = await login(phone, who, f"bad-password-{i}")
                    timings[who].append(time.perf_counter() - started)
                    assert status == 401
        finally:
            passwords_module._kdf = real_kdf
        # The structural guarantee: an unknown login costs exactly the KDF work of a wrong password.
        assert kdf_runs == {"zhang": 16, "nobody": 16}
        wrong, unknown = statistics.median(timings["zhang"]), statistics.median(timings["nobody"])
        print(f"\nlogin timing (median of 16, scrypt n=2^14): wrong password {wrong * 1000:.1f} ms, "
              f"unknown login {unknown * 1000:.1f} ms")
        assert abs(wrong - unknown) < max(0.05, 0.5 * max(wrong, unknown))


async def test_case_and_nfkc_variants_count_on_one_account(env):
    async with wechat_env(env, policy={"max_login_failures": 3}) as wx:
        await wx.put_account("Zhang", PW)
        phone = await ready_phone(wx)
        for variant in ("zhang", "ＺＨＡＮＧ", " ZHANG "):
            status, _ = await login(phone, variant, "bad-password-x")
            assert status == 401
        assert (await login(phone, "zHaNg", PW))[0] == 423
        await wx.tenant_api("POST", "/accounts/zhang/unlock")
        assert (await login(phone, "ｚｈａｎｇ", PW))[0] == 200
        assert (await phone.me()).json["account"]["login"] == "Zhang"


async def test_departed_and_pending_accounts(env):
    async with wechat_env(env, policy={"max_login_failures": 2, "allow_mobile_registration": True}) as wx:
        await wx.put_account("zhang", PW)
        await wx.tenant_api("POST", "/accounts/zhang/depart")
        phone = await ready_phone(wx)
        for _ in range(3):
            status, body = await login(phone, "zhang", PW)
            assert status == 403 and body["error"]["code"] == "account_disabled"
        r = await phone.api("register", {"login": "li", "name": "李四", "password": PW, "kind": "supplier"})
        assert r.status == 201 and r.json == {"status": "pending"}
        for _ in range(3):  # not counted as failures
            status, body = await login(phone, "li", PW)
            assert status == 403 and body["error"]["code"] == "account_pending"
        r = await wx.tenant_api("POST", "/accounts/li/approve")
        assert r.status == 200 and r.json["status"] == "active" and r.json["bound"] is False
        assert (await login(phone, "li", PW))[0] == 200
        assert (await wx.tenant_api("GET", "/accounts/li")).json["bound"] is True


async def test_per_ip_limit_and_spoofed_forwarded_for(env):
    clock = Clock()
    async with wechat_env(env, clock=clock, security={"ip_login_failures": 4, "ip_window_minutes": 10},
                          policy={"max_login_failures": 10}) as wx:
        await wx.put_account("zhang", PW)
        phone = await ready_phone(wx)
        for i in range(4):  # a spray over many logins, each spoofing another client IP
            r = await phone.api("login", {"login": f"user{i}", "password": "Spring2024!x"},
                                headers={"X-Forwarded-For": f"203.0.113.{i}", "X-Real-Ip": f"198.51.100.{i}"})
            assert r.status == 401
        r = await phone.api("login", {"login": "zhang", "password": PW}, headers={"X-Real-Ip": "192.0.2.77"})
        assert r.status == 429 and r.json["error"]["code"] == "rate_limited"
        retry = r.json["error"]["details"]["retry_after"]
        assert 0 < retry <= 600 and r.headers["Retry-After"] == str(retry)
        clock.advance(retry + 1)
        phone = await ready_phone(wx)
        assert (await login(phone, "zhang", PW))[0] == 200


async def test_trusted_proxy_forwarded_ip_is_believed(env):
    async with wechat_env(env, server={"trusted_proxies": ["127.0.0.1"]},
                          security={"ip_login_failures": 2}, policy={"max_login_failures": 10}) as wx:
        await wx.put_account("zhang", PW)
        phone = await ready_phone(wx)
        for _ in range(2):
            r = await phone.api("login", {"login": "x", "password": "Spring2024!x"},
                                headers={"X-Forwarded-For": "10.9.9.9, 203.0.113.5"})
            assert r.status == 401
        r = await phone.api("login", {"login": "zhang", "password": PW}, headers={"X-Forwarded-For": "203.0.113.5"})
        assert r.status == 429
        r = await phone.api("login", {"login": "zhang", "password": PW}, headers={"X-Forwarded-For": "203.0.113.6"})
        assert r.status == 200


async def test_counter_survives_a_restart(env):
    policy = {"max_login_failures": 3}
    async with wechat_env(env, policy=policy) as wx:
        settings = wx.g.gw.settings
        await wx.put_account("zhang", PW)
        phone = await ready_phone(wx)
        for _ in range(2):
            assert (await login(phone, "zhang", "bad-password-x"))[0] == 401
        async with env.gateway(settings=settings, drop=False) as g2:
            wx.g = g2  # the same database and cache, a new process
            phone2 = await ready_phone(wx, openid="o_2")
            status, body = await login(phone2, "zhang", "bad-password-x")
            assert status == 401 and body["error"]["details"]["remaining_attempts"] == 0
            assert (await login(phone2, "zhang", PW))[0] == 423


async def test_counter_falls_back_to_the_database_when_the_cache_is_down(env):
    async with wechat_env(env, policy={"max_login_failures": 3}) as wx:
        await wx.put_account("zhang", PW)
        phone = await ready_phone(wx)
        assert (await login(phone, "zhang", "bad-password-x"))[0] == 401
        cache = wx.g.gw.cache

        async def down(*args, **kwargs):
            raise CacheError("cache unavailable")

        saved = {name: getattr(cache, name) for name in ("get", "set", "incr", "delete", "set_if_absent")}
        for name in saved:
            setattr(cache, name, down)
        try:
            status, body = await login(phone, "zhang", "bad-password-x")
            assert status == 401 and body["error"]["details"]["remaining_attempts"] == 1
            assert (await login(phone, "zhang", "bad-password-x"))[0] == 401
            assert (await login(phone, "zhang", PW))[0] == 423
        finally:
            for name, method in saved.items():
                setattr(cache, name, method)
        assert (await login(phone, "zhang", PW))[0] == 423  # and still after the cache is back


async def test_cache_flush_keeps_the_lock(env):
    async with wechat_env(env, policy={"max_login_failures": 2}) as wx:
        await wx.put_account("zhang", PW)
        phone = await ready_phone(wx)
        for _ in range(2):
            await login(phone, "zhang", "bad-password-x")
        tenant = wx.g.gw.registry.require("acme")
        row = await wx.g.gw.directory.row(tenant, "zhang")
        await wx.g.gw.cache.delete(f"login:acct:{tenant.id}:{row['id']}")
        assert (await login(phone, "zhang", PW))[0] == 423


async def test_legacy_hash_is_upgraded_at_the_next_login(env):
    async with wechat_env(env) as wx:
        await wx.put_account("zhang", None)
        tenant = wx.g.gw.registry.require("acme")
        legacy = PasswordHasher(ScryptParams(n=2**8, r=8, p=1))
        try:
            old_hash = await legacy.hash(PW)
        finally:
            legacy.close()
        await wx.g.gw.storage.execute("UPDATE accounts SET password_hash = ? WHERE tenant_id = ? AND login = ?",
                                      (old_hash, tenant.id, "zhang"))
        phone = await ready_phone(wx)
        assert (await login(phone, "zhang", PW))[0] == 200
        stored = await wx.g.gw.storage.fetchval("SELECT password_hash FROM accounts WHERE tenant_id = ?",
                                                (tenant.id,))
        assert stored != old_hash and stored.startswith(f"scrypt${2**10}$8$1$")
        assert not wx.g.gw.hasher.needs_rehash(stored)
        await phone.api("logout")
        phone = await ready_phone(wx)
        assert (await login(phone, "zhang", PW))[0] == 200


async def test_imported_account_without_password_cannot_sign_in(env):
    async with wechat_env(env, policy={"max_login_failures": 5}) as wx:
        await wx.put_account("wang", None)
        phone = await ready_phone(wx)
        status, body = await login(phone, "wang", "")
        assert status == 401 and body["error"]["code"] == "bad_credentials"
        await wx.put_account("wang", PW)
        assert (await login(phone, "wang", PW))[0] == 200


async def test_login_needs_the_oauth_step_and_xsrf(env):
    async with wechat_env(env) as wx:
        await wx.put_account("zhang", PW)
        phone = wx.phone()
        r = await phone.api("login", {"login": "zhang", "password": PW})
        assert r.status == 401
        phone = await ready_phone(wx)
        r = await phone.api("login", {"login": "zhang", "password": PW}, xsrf=False)
        assert r.status == 403
        r = await phone.api("login", {"login": "zhang", "password": PW}, headers={"X-XSRFToken": "0" * 32},
                            xsrf=False)
        assert r.status == 403
        forged = dict(phone.cookies)
        phone.cookies["gw_openid"] = forged["gw_openid"][:-3] + "AAA"
        assert (await phone.api("login", {"login": "zhang", "password": PW})).status == 401
        phone.cookies = forged
        r = await phone.api("login", {"login": "zhang", "password": PW})
        assert r.status == 200


async def test_audit_never_holds_a_password_or_token(env):
    async with wechat_env(env, policy={"max_login_failures": 2}) as wx:
        await wx.put_account("zhang", PW)
        phone = await ready_phone(wx)
        await login(phone, "zhang", "Secret-Wrong-1")
        await login(phone, "zhang", PW)
        token = phone.cookies["gw_session"]  # the change below clears the cookie
        await phone.api("password", {"old_password": PW, "new_password": "N3w-Passw0rd-!"})
        assert "gw_session" not in phone.cookies or phone.cookies["gw_session"] != token
        text = str(await wx.audit())
        for secret in (PW, "Secret-Wrong-1", "N3w-Passw0rd-!", token):
            assert secret not in text
        actions = [e["action"] for e in await wx.audit()]
        assert "password.changed" in actions and "login.ok" in actions and "login.failed" in actions


@pytest.mark.parametrize("n", [3])
async def test_hasher_overload_answers_503(env, n):
    async with wechat_env(env) as wx:
        await wx.put_account("zhang", PW)
        phone = await ready_phone(wx)
        hasher = wx.g.gw.hasher
        hasher.queue.pending = hasher.max_pending  # as if the pool were full
        try:
            r = await phone.api("login", {"login": "zhang", "password": PW})
            assert r.status == 503 and r.json["error"]["code"] == "busy"
        finally:
            hasher.queue.pending = 0
        for _ in range(n):  # the refused attempts did not use up failure slots
            assert (await login(phone, "zhang", PW))[0] == 200


def cache_down(wx: WeChatEnv) -> dict:
    """Make every cache call fail; returns the real methods for restore_cache()."""
    cache = wx.g.gw.cache

    async def down(*args, **kwargs):
        raise CacheError("cache unavailable")

    saved = {name: getattr(cache, name) for name in ("get", "set", "incr", "delete", "set_if_absent")}
    for name in saved:
        setattr(cache, name, down)
    return saved


def restore_cache(wx: WeChatEnv, saved: dict) -> None:
    for name, method in saved.items():
        setattr(wx.g.gw.cache, name, method)


def _without_lock_time(body: dict) -> dict:
    details = {k: v for k, v in body["error"]["details"].items() if k != "locked_until"}
    return {**body, "error": {**body["error"], "details": details}}


async def test_unknown_login_counts_like_an_account_while_the_cache_is_down(env):
    async with wechat_env(env, policy={"max_login_failures": 3}) as wx:
        await wx.put_account("zhang", PW)
        phone = await ready_phone(wx)
        saved = cache_down(wx)
        try:
            for _ in range(4):
                wrong = await phone.api("login", {"login": "zhang", "password": "bad-password-x"})
                unknown = await phone.api("login", {"login": "nobody", "password": "bad-password-x"})
                # Same answer; locked_until may differ by the second between the two requests.
                assert (wrong.status, _without_lock_time(wrong.json)) == (unknown.status,
                                                                         _without_lock_time(unknown.json))
                assert ("locked_until" in wrong.json["error"]["details"]) == (
                    "locked_until" in unknown.json["error"]["details"])
            assert wrong.status == 423 and "locked_until" in wrong.json["error"]["details"]
        finally:
            restore_cache(wx, saved)
        # The lock of the unknown login is in the database: it holds with the cache back, and
        # with the cache flushed.
        unknown = await phone.api("login", {"login": "nobody", "password": "bad-password-x"})
        assert unknown.status == 423
        tenant = wx.g.gw.registry.require("acme")
        rows = await wx.g.gw.storage.fetchall("SELECT * FROM login_failures WHERE tenant_id = ?", (tenant.id,))
        assert len(rows) == 1 and rows[0]["locked_until"] is not None and "nobody" not in str(rows)


async def test_unknown_login_counter_survives_a_cache_flush(env):
    async with wechat_env(env, policy={"max_login_failures": 3}) as wx:
        phone = await ready_phone(wx)
        for remaining in (2, 1):
            status, body = await login(phone, "nobody", "bad-password-x")
            assert body["error"]["details"]["remaining_attempts"] == remaining
        saved = cache_down(wx)  # counted in the database alone from here
        try:
            status, body = await login(phone, "NOBODY", "bad-password-x")
            assert status == 401 and body["error"]["details"]["remaining_attempts"] == 0
        finally:
            restore_cache(wx, saved)
        assert (await login(phone, "nobody", "bad-password-x"))[0] == 423


async def test_audit_names_an_unknown_login_by_digest_only(env):
    async with wechat_env(env, policy={"max_login_failures": 2}) as wx:
        await wx.put_account("zhang", PW)
        phone = await ready_phone(wx)
        typed = "Correct-Horse-Staple-9"  # a password typed into the login field
        for _ in range(3):
            await login(phone, typed, "anything-at-all")
        await login(phone, "ZHANG", "bad-password-x")
        entries = await wx.audit()
        text = str(entries)
        assert typed not in text and typed.casefold() not in text
        unknown = [e for e in entries if e["action"] in ("login.failed", "login.locked")
                   and e["subject"] == "(unknown)"]
        assert len(unknown) == 3
        digests = {e["detail"]["login_digest"] for e in unknown}
        assert len(digests) == 1 and len(next(iter(digests))) == 12
        known = [e for e in entries if e["action"] == "login.failed" and e["subject"] != "(unknown)"]
        assert [e["subject"] for e in known] == ["zhang"]  # the account's own spelling


async def test_an_administrators_reset_unlocks(env):
    async with wechat_env(env, policy={"max_login_failures": 2, "lockout_minutes": 0}) as wx:
        await wx.put_account("zhang", PW)
        phone = await ready_phone(wx)
        for _ in range(2):
            await login(phone, "zhang", "bad-password-x")
        assert (await login(phone, "zhang", PW))[0] == 423
        r = await wx.put_account("zhang", "An0ther-Passw0rd!")
        assert r.status == 200 and r.json["locked_until"] is None
        status, body = await login(phone, "zhang", "An0ther-Passw0rd!")
        assert status == 200, body
        reset = [e for e in await wx.audit() if e["action"] == "password.reset"]
        assert reset[-1]["detail"]["unlocked"] is True
        await phone.api("logout")
        phone = await ready_phone(wx)
        status, body = await login(phone, "zhang", "bad-password-x")  # the count starts over
        assert body["error"]["details"]["remaining_attempts"] == 1
