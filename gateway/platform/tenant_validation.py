"""Checks an admin API tenant body (creation or the merged result of a PATCH) and names
every problem: unknown fields, wrong types, malformed identifiers, unsafe webhook URLs."""
from __future__ import annotations

import ipaddress
import re
from typing import Any
from urllib.parse import urlparse

from gateway.platform.phone_settings import validate_phone_settings
from gateway.platform.policy_settings import validate_policy_settings

SLUG_RE = re.compile(r"^[a-z0-9][a-z0-9-]{1,31}$")
# `default` names every tenant's rule table (tenants/default.py); `component` is the third-party
# platform's own path (/wx/component/...).
RESERVED_SLUGS = frozenset({"default", "component"})
APP_ID_RE = re.compile(r"^wx[0-9A-Za-z]{16}$")
TOKEN_RE = re.compile(r"^[A-Za-z0-9]{3,32}$")
AES_KEY_RE = re.compile(r"^[A-Za-z0-9]{43}$")
ORIGINAL_ID_RE = re.compile(r"^gh_[0-9A-Za-z]{1,40}$")
HOST_RE = re.compile(r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)+$")
TEMPLATE_KEY_RE = re.compile(r"^[a-z_]+[0-9]*$")
VERIFY_NAME_RE = re.compile(r"^MP_verify_[A-Za-z0-9]{1,64}\.txt$")

TOP_KEYS = {"slug", "name", "wechat", "webapi_url", "templates", "policy", "logging", "people", "domains",
            "phone"}
WECHAT_KEYS = {"app_id", "app_secret", "token", "original_id", "encoding_aes_key", "message_mode"}
ROLES = {"approver", "cc"}
PEOPLE_KEYS = {"login_column", "name_column", "position_column", "wechat_column"}
LOGGING_KEYS = {"mobile", "system"}


def is_private_host(host: str) -> bool:
    """True for localhost and loopback, private, link-local or otherwise non-public IPs."""
    host = host.strip("[]").lower().rstrip(".")
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return False
    return not ip.is_global


def webhook_url_problem(url: Any, allow_private: bool) -> str | None:
    if not isinstance(url, str) or len(url) > 2048:
        return "webapi_url must be an http(s) URL"
    parsed = urlparse(url)
    if parsed.scheme not in ("http", "https") or not parsed.hostname:
        return "webapi_url must be an http(s) URL"
    if not allow_private and is_private_host(parsed.hostname):
        return "webapi_url points to a private or loopback address"
    return None


def _check_keys(obj: Any, allowed: set[str], where: str, problems: list[str]) -> bool:
    if not isinstance(obj, dict):
        problems.append(f"{where} must be an object")
        return False
    for key in sorted(set(obj) - allowed):
        problems.append(f"{where}.{key} is not a known field" if where else f"{key} is not a known field")
    return True


def _wechat_problems(wechat: Any, problems: list[str], creating: bool) -> None:
    if not _check_keys(wechat, WECHAT_KEYS, "wechat", problems):
        return
    if not isinstance(wechat.get("app_id"), str) or not APP_ID_RE.match(wechat["app_id"]):
        problems.append("wechat.app_id must be wx followed by 16 letters or digits")
    secret = wechat.get("app_secret")
    if (creating or "app_secret" in wechat) and (not isinstance(secret, str) or not 1 <= len(secret) <= 128
                                                 or not secret.isascii() or not secret.isalnum()):
        problems.append("wechat.app_secret must be 1 to 128 letters or digits")
    token = wechat.get("token")
    if (creating or "token" in wechat) and (not isinstance(token, str) or not TOKEN_RE.match(token)):
        problems.append("wechat.token must be 3 to 32 letters or digits")
    original = wechat.get("original_id")
    if original is not None and (not isinstance(original, str) or not ORIGINAL_ID_RE.match(original)):
        problems.append("wechat.original_id must look like gh_ followed by letters or digits")
    key = wechat.get("encoding_aes_key")
    if key is not None and (not isinstance(key, str) or not AES_KEY_RE.match(key)):
        problems.append("wechat.encoding_aes_key must be exactly 43 letters or digits")
    mode = wechat.get("message_mode", "plain")
    if mode not in ("plain", "compat", "safe"):
        problems.append("wechat.message_mode must be plain, compat or safe")


def _templates_problems(templates: Any, problems: list[str]) -> None:
    if not _check_keys(templates, ROLES, "templates", problems):
        return
    for role, spec in templates.items():
        if role not in ROLES:
            continue
        where = f"templates.{role}"
        if not _check_keys(spec, {"template_id", "data"}, where, problems):
            continue
        tid = spec.get("template_id")
        if not isinstance(tid, str) or not 1 <= len(tid) <= 128:
            problems.append(f"{where}.template_id must be a string of 1 to 128 characters")
        data = spec.get("data", {})
        if not isinstance(data, dict) or not data:
            problems.append(f"{where}.data must be an object of template keys to text")
            continue
        for key, value in data.items():
            if not TEMPLATE_KEY_RE.match(str(key)) or not isinstance(value, str) or len(value) > 200:
                problems.append(f"{where}.data.{key} must map a template key to a text of at most 200 characters")


def tenant_problems(body: Any, allow_private_webhooks: bool, creating: bool) -> list[str]:
    """Every problem with a full tenant body (after defaults for a PATCH are merged in)."""
    problems: list[str] = []
    if not _check_keys(body, TOP_KEYS, "", problems):
        return problems
    slug = body.get("slug")
    if not isinstance(slug, str) or not SLUG_RE.match(slug):
        problems.append("slug must be 2 to 32 of a-z, 0-9 and -, starting with a letter or digit")
    elif slug in RESERVED_SLUGS:
        problems.append(f"slug {slug} is reserved (the gateway uses it for itself)")
    name = body.get("name")
    if not isinstance(name, str) or not name.strip() or len(name) > 100:
        problems.append("name must be a non-empty text of at most 100 characters")
    if "wechat" not in body:
        problems.append("wechat is required")
    else:
        _wechat_problems(body["wechat"], problems, creating)
    if body.get("webapi_url") is not None:
        problem = webhook_url_problem(body["webapi_url"], allow_private_webhooks)
        if problem:
            problems.append(problem)
    if body.get("templates") is not None:
        _templates_problems(body["templates"], problems)
    if body.get("policy") is not None:
        problems.extend(validate_policy_settings(body["policy"]) if isinstance(body["policy"], dict)
                        else ["policy must be an object"])
    if body.get("logging") is not None and _check_keys(body["logging"], LOGGING_KEYS, "logging", problems):
        problems.extend(f"logging.{k} must be true or false" for k, v in body["logging"].items()
                        if k in LOGGING_KEYS and not isinstance(v, bool))
    if body.get("people") is not None and _check_keys(body["people"], PEOPLE_KEYS, "people", problems):
        problems.extend(f"people.{k} must be a non-empty text" for k, v in body["people"].items()
                        if k in PEOPLE_KEYS and (not isinstance(v, str) or not v.strip() or len(v) > 64))
    if body.get("phone") is not None:
        problems.extend(validate_phone_settings(body["phone"]))
    domains = body.get("domains")
    if domains is not None and (not isinstance(domains, list) or len(domains) > 20 or not all(
            isinstance(d, str) and HOST_RE.match(d) for d in domains)):
        problems.append("domains must be a list of host names such as wx.example.com")
    return problems


def mode_problem(mode: str, aes_key: str | None) -> str | None:
    if mode in ("compat", "safe") and not aes_key:
        return f"wechat.message_mode {mode} needs wechat.encoding_aes_key"
    return None


def replies_problems(body: Any) -> list[str]:
    problems: list[str] = []
    if not _check_keys(body, {"rules"}, "", problems):
        return problems
    rules = body.get("rules")
    if not isinstance(rules, list) or len(rules) > 200:
        return ["rules must be a list of at most 200 rules"]
    for i, rule in enumerate(rules):
        where = f"rules[{i}]"
        if not _check_keys(rule, {"match", "keyword", "reply"}, where, problems):
            continue
        if rule.get("match") not in ("exact", "contains"):
            problems.append(f"{where}.match must be exact or contains")
        if not isinstance(rule.get("keyword"), str) or not 1 <= len(rule["keyword"]) <= 60:
            problems.append(f"{where}.keyword must be a text of 1 to 60 characters")
        if not isinstance(rule.get("reply"), str) or not 1 <= len(rule["reply"].encode()) <= 2000:
            problems.append(f"{where}.reply must be a text of 1 to 2000 bytes")
    return problems
