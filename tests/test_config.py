"""Settings: file, environment overrides, validation, secrets generated once with 0600."""
from __future__ import annotations

import os
import stat

import pytest

from gateway.config import SettingsError, ensure_secrets, load_settings


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
