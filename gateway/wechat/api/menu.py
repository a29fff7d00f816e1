"""Custom menu endpoints (WECHAT.md §8); validate with gateway.wechat.menu_rules first."""

from __future__ import annotations

from gateway.wechat.api.client import WeChatHttp


async def create_menu(http: WeChatHttp, access_token: str, menu: dict) -> None:
    """POST cgi-bin/menu/create; replaces the whole menu."""
    await http.post_json("cgi-bin/menu/create", {"access_token": access_token}, menu)


async def get_menu(http: WeChatHttp, access_token: str) -> dict:
    """GET cgi-bin/menu/get; the whole response: {"menu": {"button": [...]}, "conditionalmenu": [...]}."""
    return await http.get("cgi-bin/menu/get", {"access_token": access_token})


async def delete_menu(http: WeChatHttp, access_token: str) -> None:
    """GET cgi-bin/menu/delete; removes personalized menus too."""
    await http.get("cgi-bin/menu/delete", {"access_token": access_token})
