"""Settings: file, environment overrides, validation, secrets generated once with 0600."""
from __future__ import annotations

import os
import stat

import pytest

from gateway.platform.config import SettingsError, ensure_secrets, load_settings


def test_defaults_and_env_overrides(tmp_path):
    s = load_settings(env={"GATEWAY_STORAGE_URL": "mysql://u:p@db:3306/gw", "GATEWAY_SERVER_PORT": "9000",
                           "GATEWAY_SECURITY_ALLOW_PRIVATE_WEBHOOKS": "true",
                           "GATEWAY_SERVER_TRUSTED_PROXIES": "10.0.0.1, 10.0.0.2",
                           "GATEWAY_WECHAT_TIMEOUT": "2.5"})
    assert s.storage.url == "mysql://u:p@db:3306/gw"
    assert s.server.port == 9000
    assert s.security.allow_private_webhooks is True
    assert s.server.trusted_proxies == ["10.0.0.1", "10.0.0.2"]
    assert s.wechat.timeout == 2.5
    assert s.wechat.api_base == "https://api.weixin.qq.com"
    assert s.cache.url == "memory://"


def test_config_file_and_bad_values(tmp_path):
    path = tmp_path / "s.toml"
    path.write_text('[server]\nport = 7000\npublic_url = "https://gw.example.com/"\n[wechat]\ntoken_api = "stable"\n')
    s = load_settings(path, env={})
    assert s.server.port == 7000 and s.server.public_url == "https://gw.example.com"
    assert s.wechat.token_api == "stable"
    with pytest.raises(SettingsError):
        load_settings(path, env={"GATEWAY_SERVER_PORT": "eighty"})
    with pytest.raises(SettingsError):
        load_settings(path, env={"GATEWAY_WECHAT_TOKEN_API": "other"})
    with pytest.raises(SettingsError):
        load_settings(path, env={"GATEWAY_SECURITY_MASTER_KEY": "abcd"})
    path.write_text("[server]\nbogus = 1\n")
    with pytest.raises(SettingsError):
        load_settings(path, env={})
    with pytest.raises(SettingsError):
        load_settings(tmp_path / "missing.toml", env={})


def test_secrets_generated_once_with_0600(tmp_path):
    s = load_settings(env={"GATEWAY_SERVER_VAR_DIR": str(tmp_path / "var")})
    ensure_secrets(s)
    assert s.generated_operator_token
    assert len(bytes.fromhex(s.security.master_key)) == 32
    for name in ("master_key", "session_key", "operator_token"):
        mode = stat.S_IMODE(os.stat(tmp_path / "var" / name).st_mode)
        assert mode == 0o600
    again = ensure_secrets(load_settings(env={"GATEWAY_SERVER_VAR_DIR": str(tmp_path / "var")}))
    assert not again.generated_operator_token
    assert again.security.operator_token == s.security.operator_token
    assert again.security.master_key == s.security.master_key


def test_unknown_sections_and_malformed_files_are_refused(tmp_path):
    path = tmp_path / "s.toml"
    path.write_text("[sever]\nport = 9\n")
    with pytest.raises(SettingsError, match="unknown sections.*sever"):
        load_settings(path, env={})
    path.write_text("port = 9\n")
    with pytest.raises(SettingsError, match="unknown sections.*port"):
        load_settings(path, env={})
    path.write_text("server = 1\n")
    with pytest.raises(SettingsError, match=r"\[server\].*table"):
        load_settings(path, env={})
    path.write_text("[server\nport = 9\n")
    with pytest.raises(SettingsError, match="cannot be read"):
        load_settings(path, env={})


@pytest.mark.parametrize("section, key, value, message", [
    ("server", "port", 0, "port must be between 1 and 65535"),
    ("server", "port", 65536, "port must be between 1 and 65535"),
    ("wechat", "timeout", 0, "timeout must be greater than 0"),
    ("wechat", "timeout", -1.5, "timeout must be greater than 0"),
    ("security", "ip_login_failures", 0, "ip_login_failures must be at least 1"),
    ("security", "ip_login_failures", -5, "ip_login_failures must be at least 1"),
    ("security", "ip_window_minutes", 0, "ip_window_minutes must be at least 1"),
    ("security", "password_hash_n", 1000, "password_hash_n must be a power of two"),
    ("security", "password_hash_n", 2**9, "password_hash_n must be a power of two"),
    ("security", "session_hours", 0, "session_hours must be at least 1"),
    ("delivery", "workers", 0, "workers must be at least 1"),
    ("delivery", "tenant_rate_per_second", 0, "tenant_rate_per_second must be greater than 0"),
])
def test_out_of_range_values_are_refused(tmp_path, section, key, value, message):
    path = tmp_path / "s.toml"
    path.write_text(f"[{section}]\n{key} = {value}\n")
    with pytest.raises(SettingsError, match=message):
        load_settings(path, env={})
    env_key = f"GATEWAY_{section.upper()}_{key.upper()}"
    with pytest.raises(SettingsError, match=message):
        load_settings(tmp_path / "s.toml", env={env_key: str(value)})


def test_range_edges_are_accepted(tmp_path):
    path = tmp_path / "s.toml"
    path.write_text("[server]\nport = 65535\n[wechat]\ntimeout = 0.1\n[security]\nip_login_failures = 1\n"
                    "ip_window_minutes = 1\npassword_hash_n = 1024\nsession_hours = 1\n"
                    "[delivery]\nworkers = 1\ntenant_rate_per_second = 0.5\n")
    s = load_settings(path, env={})
    assert s.server.port == 65535 and s.security.password_hash_n == 1024
    assert load_settings(path, env={"GATEWAY_SERVER_PORT": "1"}).server.port == 1


@pytest.mark.parametrize("content", ["", "\n", "not hex at all", "ab" * 31, "ab" * 33])
def test_empty_or_malformed_master_key_file_names_the_file(tmp_path, content):
    var = tmp_path / "var"
    var.mkdir()
    (var / "master_key").write_text(content)
    with pytest.raises(SettingsError) as caught:
        ensure_secrets(load_settings(env={"GATEWAY_SERVER_VAR_DIR": str(var)}))
    assert str(var / "master_key") in str(caught.value)
    assert "empty or malformed" in str(caught.value)


def test_unreadable_secret_file_is_a_settings_error(tmp_path):
    var = tmp_path / "var"
    var.mkdir()
    (var / "master_key").write_bytes(b"\xff\xfe" * 40)
    with pytest.raises(SettingsError, match="master_key"):
        ensure_secrets(load_settings(env={"GATEWAY_SERVER_VAR_DIR": str(var)}))
    (var / "session_key").write_text("")
    (var / "master_key").write_text("ab" * 32)
    with pytest.raises(SettingsError, match="session_key.*empty or malformed"):
        ensure_secrets(load_settings(env={"GATEWAY_SERVER_VAR_DIR": str(var)}))


def test_event_loop_setting():
    assert load_settings(env={}).server.event_loop == "uvloop"
    assert load_settings(env={"GATEWAY_SERVER_EVENT_LOOP": "asyncio"}).server.event_loop == "asyncio"
    with pytest.raises(SettingsError, match="event_loop"):
        load_settings(env={"GATEWAY_SERVER_EVENT_LOOP": "trio"})


def test_frame_ancestors_are_checked_origins(tmp_path):
    from handlers.pages import content_security_policy
    assert load_settings(env={}).server.frame_ancestors == []
    assert "frame-ancestors 'none'" in content_security_policy([])
    s = load_settings(env={"GATEWAY_SERVER_FRAME_ANCESTORS": "http://127.0.0.1:9009, https://sim.example.com"})
    csp = content_security_policy(s.server.frame_ancestors)
    assert csp.endswith("frame-ancestors http://127.0.0.1:9009 https://sim.example.com")
    assert "frame-ancestors 'none'" not in csp
    for bad in ("*", "http://a.example; script-src *", "javascript:alert(1)", "http://a.example/path"):
        with pytest.raises(SettingsError):
            load_settings(env={"GATEWAY_SERVER_FRAME_ANCESTORS": bad})
