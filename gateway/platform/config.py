"""Settings: settings.toml (or --config), then GATEWAY_<SECTION>_<KEY> environment overrides,
then secrets generated once into var/ when left empty."""
from __future__ import annotations

import ipaddress
import os
import re
import secrets
import tomllib
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Callable

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SETTINGS_PATH = PROJECT_ROOT / "settings.toml"


class SettingsError(Exception):
    """A setting is missing, malformed or inconsistent."""


@dataclass
class ServerSettings:
    host: str = "127.0.0.1"
    port: int = 8080
    public_url: str = "http://127.0.0.1:8080"
    trusted_proxies: list[str] = field(default_factory=list)
    client_ip_header: str = "X-Forwarded-For"
    var_dir: str = "var"
    ops_restricted: bool = False
    ops_scrapers: list[str] = field(default_factory=list)
    event_loop: str = "uvloop"  # or "asyncio"; uvloop measured faster on callbacks (bench/README.md)
    # Origins allowed to show the phone pages in a frame (CSP frame-ancestors); empty: none may.
    frame_ancestors: list[str] = field(default_factory=list)


@dataclass
class StorageSettings:
    url: str = "sqlite:///var/gateway.db"
    query_timeout: float = 5.0


@dataclass
class CacheSettings:
    url: str = "memory://"


@dataclass
class WeChatSettings:
    api_base: str = "https://api.weixin.qq.com"
    oauth_base: str = "https://open.weixin.qq.com"
    timeout: float = 5.0
    token_api: str = "token"


@dataclass
class SecuritySettings:
    master_key: str = ""
    operator_token: str = ""
    session_key: str = ""
    allow_private_webhooks: bool = False
    ip_login_failures: int = 30
    ip_window_minutes: int = 10
    password_hash_n: int = 2**17
    session_hours: int = 12


@dataclass
class DeliverySettings:
    workers: int = 1
    tenant_rate_per_second: float = 20.0
    webhooks_per_tenant: int = 5
    attachment_timeout: float = 15.0  # seconds a business system may stay silent while relaying a file


@dataclass
class ComponentSettings:
    """The third-party platform (component) the gateway is registered as, if any: empty app_id = off.
    token and encoding_aes_key are generated into var/ when left empty (the operator types them into
    the Open Platform); app_secret comes from WeChat and must be given."""
    app_id: str = ""
    app_secret: str = field(default="", repr=False)
    token: str = field(default="", repr=False)
    encoding_aes_key: str = field(default="", repr=False)
    # Where the authorization page for computers lives (the phone's is under [wechat] oauth_base).
    login_page_base: str = "https://mp.weixin.qq.com"

    @property
    def enabled(self) -> bool:
        return bool(self.app_id)


@dataclass
class Settings:
    server: ServerSettings = field(default_factory=ServerSettings)
    storage: StorageSettings = field(default_factory=StorageSettings)
    cache: CacheSettings = field(default_factory=CacheSettings)
    wechat: WeChatSettings = field(default_factory=WeChatSettings)
    security: SecuritySettings = field(default_factory=SecuritySettings)
    delivery: DeliverySettings = field(default_factory=DeliverySettings)
    component: ComponentSettings = field(default_factory=ComponentSettings)
    # Set when a secret was generated at this start (the operator token is printed once then).
    generated_operator_token: bool = False

    @property
    def master_key_bytes(self) -> bytes:
        return bytes.fromhex(self.security.master_key)

    @property
    def var_path(self) -> Path:
        return Path(self.server.var_dir)


MIN_SECRET_CHARS = 32
SECTIONS = ("server", "storage", "cache", "wechat", "security", "delivery", "component")


def _coerce(raw: Any, default: Any, where: str) -> Any:
    """Convert a TOML or environment value to the type of the field's default."""
    if isinstance(default, bool):
        if isinstance(raw, bool):
            return raw
        if isinstance(raw, str) and raw.lower() in ("1", "true", "yes", "on", "0", "false", "no", "off"):
            return raw.lower() in ("1", "true", "yes", "on")
        raise SettingsError(f"{where} must be true or false")
    if isinstance(default, int) and not isinstance(default, bool):
        try:
            return int(raw)
        except (TypeError, ValueError):
            raise SettingsError(f"{where} must be an integer") from None
    if isinstance(default, float):
        try:
            return float(raw)
        except (TypeError, ValueError):
            raise SettingsError(f"{where} must be a number") from None
    if isinstance(default, list):
        if isinstance(raw, str):
            return [part.strip() for part in raw.split(",") if part.strip()]
        if isinstance(raw, list):
            return [str(item) for item in raw]
        raise SettingsError(f"{where} must be a list")
    if not isinstance(raw, str):
        raise SettingsError(f"{where} must be a string")
    return raw


def load_settings(path: str | os.PathLike[str] | None = None, env: dict[str, str] | None = None,
                  overrides: dict[str, dict[str, Any]] | None = None) -> Settings:
    """Read settings from a TOML file, then the environment, then explicit overrides."""
    env = dict(os.environ) if env is None else env
    settings = Settings()
    file_path = Path(path) if path else DEFAULT_SETTINGS_PATH
    data: dict[str, Any] = {}
    if file_path.exists():
        try:
            with open(file_path, "rb") as fh:
                data = tomllib.load(fh)
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise SettingsError(f"settings file {file_path} cannot be read: {exc}") from None
    elif path:
        raise SettingsError(f"settings file {file_path} does not exist")
    unknown_sections = set(data) - set(SECTIONS)
    if unknown_sections:
        raise SettingsError(f"unknown sections in {file_path}: {', '.join(sorted(unknown_sections))}"
                            f" (known: {', '.join(SECTIONS)})")
    for section_name in SECTIONS:
        section = getattr(settings, section_name)
        if not isinstance(data.get(section_name, {}), dict):
            raise SettingsError(f"[{section_name}] in {file_path} must be a table")
        given = dict(data.get(section_name, {}))
        given.update((overrides or {}).get(section_name, {}))
        for f in fields(section):
            where = f"[{section_name}] {f.name}"
            env_key = f"GATEWAY_{section_name.upper()}_{f.name.upper()}"
            default = getattr(section, f.name)
            if env_key in env:
                setattr(section, f.name, _coerce(env[env_key], default, env_key))
            elif f.name in given:
                setattr(section, f.name, _coerce(given[f.name], default, where))
        unknown = set(data.get(section_name, {})) - {f.name for f in fields(section)}
        if unknown:
            raise SettingsError(f"unknown settings in [{section_name}]: {', '.join(sorted(unknown))}")
    _validate(settings)
    return settings


def _check_ranges(settings: Settings) -> None:
    sec, delivery = settings.security, settings.delivery
    checks = (
        (1 <= settings.server.port <= 65535, "[server] port must be between 1 and 65535"),
        (settings.wechat.timeout > 0, "[wechat] timeout must be greater than 0 seconds"),
        (settings.storage.query_timeout > 0, "[storage] query_timeout must be greater than 0 seconds"),
        (sec.ip_login_failures >= 1, "[security] ip_login_failures must be at least 1"),
        (sec.ip_window_minutes >= 1, "[security] ip_window_minutes must be at least 1"),
        (sec.password_hash_n >= 2**10 and sec.password_hash_n & (sec.password_hash_n - 1) == 0,
         "[security] password_hash_n must be a power of two, at least 1024 (2**10)"),
        (sec.session_hours >= 1, "[security] session_hours must be at least 1"),
        (delivery.workers >= 1, "[delivery] workers must be at least 1"),
        (delivery.tenant_rate_per_second > 0, "[delivery] tenant_rate_per_second must be greater than 0"),
        (delivery.webhooks_per_tenant >= 1, "[delivery] webhooks_per_tenant must be at least 1"),
        (delivery.attachment_timeout > 0, "[delivery] attachment_timeout must be greater than 0 seconds"),
    )
    for ok, message in checks:
        if not ok:
            raise SettingsError(message)


_ORIGIN = re.compile(r"^https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?$")


def _validate(settings: Settings) -> None:
    _check_ranges(settings)
    if settings.server.event_loop not in ("uvloop", "asyncio"):
        raise SettingsError('[server] event_loop must be "uvloop" or "asyncio"')
    if settings.wechat.token_api not in ("token", "stable"):
        raise SettingsError('[wechat] token_api must be "token" or "stable"')
    if not settings.server.public_url.startswith(("http://", "https://")):
        raise SettingsError("[server] public_url must start with http:// or https://")
    settings.server.public_url = settings.server.public_url.rstrip("/")
    for origin in settings.server.frame_ancestors:
        if not _ORIGIN.match(origin):
            raise SettingsError("[server] frame_ancestors entries must be origins like http://host:port, "
                                f"not {origin!r}")
    key = settings.security.master_key
    if key and not _is_key_hex(key):
        raise SettingsError("[security] master_key must be 64 hex digits (32 bytes)")
    for name in ("operator_token", "session_key"):
        value = getattr(settings.security, name)
        if value and not _strong(value):
            raise SettingsError(f"[security] {name} must be at least {MIN_SECRET_CHARS} characters"
                                " (leave it empty to have one generated into var/)")
    if settings.server.client_ip_header.lower() not in ("x-forwarded-for", "x-real-ip"):
        raise SettingsError('[server] client_ip_header must be "X-Forwarded-For" or "X-Real-Ip"')
    _check_component(settings.component)
    _check_networks(settings.server.trusted_proxies, "[server] trusted_proxies")
    _check_networks(settings.server.ops_scrapers, "[server] ops_scrapers")


_COMPONENT_APP_ID = re.compile(r"^wx[0-9A-Za-z]{16}$")
_COMPONENT_TOKEN = re.compile(r"^[A-Za-z0-9]{3,32}$")
_COMPONENT_AES_KEY = re.compile(r"^[A-Za-z0-9]{43}$")


def _check_component(comp: ComponentSettings) -> None:
    if not comp.enabled:
        return
    if not _COMPONENT_APP_ID.match(comp.app_id):
        raise SettingsError("[component] app_id must be wx followed by 16 letters or digits")
    if not comp.app_secret or not comp.app_secret.isascii() or not comp.app_secret.isalnum():
        raise SettingsError("[component] app_secret must be given (letters and digits, from the Open Platform)")
    if comp.token and not _COMPONENT_TOKEN.match(comp.token):
        raise SettingsError("[component] token must be 3 to 32 letters or digits")
    if comp.encoding_aes_key and not _COMPONENT_AES_KEY.match(comp.encoding_aes_key):
        raise SettingsError("[component] encoding_aes_key must be exactly 43 letters or digits")


def _strong(secret: str) -> bool:
    return len(secret.strip()) >= MIN_SECRET_CHARS


def _check_networks(entries: list[str], where: str) -> None:
    for entry in entries:
        try:
            ipaddress.ip_network(entry, strict=False)
        except ValueError:
            raise SettingsError(f"{where}: {entry!r} is not an IP address or network") from None


def _is_key_hex(value: str) -> bool:
    try:
        return len(bytes.fromhex(value)) == 32
    except ValueError:
        return False


def _read_or_create_secret(var: Path, name: str, make: Any, valid: Callable[[str], bool] = bool,
                           expected: str = "a secret") -> tuple[str, bool]:
    """Return the secret stored in var/<name>, creating it (mode 0600) if absent."""
    path = var / name
    try:
        var.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        try:
            value = path.read_text().strip()
        except (OSError, UnicodeDecodeError) as exc:
            raise SettingsError(f"{path} cannot be read: {exc.__class__.__name__}") from None
        if not valid(value):
            raise SettingsError(f"{path} is empty or malformed: it must hold {expected}"
                                " (restore it from a backup; deleting it makes a new one)")
        return value, False
    except OSError as exc:
        raise SettingsError(f"{path} cannot be created: {exc.strerror or exc}") from None
    value = make()
    with os.fdopen(fd, "w") as fh:
        fh.write(value + "\n")
    return value, True


def ensure_secrets(settings: Settings) -> Settings:
    """Fill empty secrets from var/, generating them once with 0600 permissions."""
    var = settings.var_path
    sec = settings.security
    if not sec.master_key:
        sec.master_key, _ = _read_or_create_secret(var, "master_key", lambda: secrets.token_hex(32),
                                                   _is_key_hex, "64 hex digits (32 bytes)")
    if not sec.session_key:
        sec.session_key, _ = _read_or_create_secret(var, "session_key", lambda: secrets.token_hex(32), _strong,
                                                    f"at least {MIN_SECRET_CHARS} characters")
    if not sec.operator_token:
        sec.operator_token, created = _read_or_create_secret(
            var, "operator_token", lambda: "op_" + secrets.token_urlsafe(32), _strong,
            f"at least {MIN_SECRET_CHARS} characters")
        settings.generated_operator_token = created
    comp = settings.component
    if comp.enabled and not comp.token:
        comp.token, _ = _read_or_create_secret(var, "component_token", lambda: secrets.token_hex(16),
                                               lambda v: bool(_COMPONENT_TOKEN.match(v)), "3 to 32 letters or digits")
    if comp.enabled and not comp.encoding_aes_key:
        comp.encoding_aes_key, _ = _read_or_create_secret(
            var, "component_aes_key", _new_aes_key, lambda v: bool(_COMPONENT_AES_KEY.match(v)),
            "43 letters or digits")
    _validate(settings)
    return settings


def _new_aes_key() -> str:
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
    return "".join(secrets.choice(alphabet) for _ in range(43))


def is_embedded(settings: Settings) -> bool:
    """True when storage or cache cannot be shared between processes."""
    return settings.storage.url.startswith("sqlite:") or settings.cache.url.startswith("memory:")


