"""The names under which an account's WeChat credentials are kept (cache and the sealed storage
copy): one spelling for the token centre that writes them and the registry that deletes them."""
from __future__ import annotations

ACCESS, TICKET = "access_token", "jsapi_ticket"


def token_key(app_id: str, kind: str) -> str:
    return f"wx:token:{app_id}" if kind == ACCESS else f"wx:ticket:{app_id}"


def account_token_keys(app_id: str) -> tuple[str, str]:
    """Every credential kept for one account: its access token and its JS-SDK ticket."""
    return token_key(app_id, ACCESS), token_key(app_id, TICKET)
