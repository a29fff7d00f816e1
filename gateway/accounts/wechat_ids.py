"""Each account's WeChat id (微信号) as an import gave it (the seed's 微信号列): stored per account,
shown on the console's people page. An empty cell clears it; a sheet without the column leaves it."""
from __future__ import annotations

import re
from typing import Iterable

from gateway.storage import Executor

CHUNK = 500
MAX_WECHAT_ID = 64
_WECHAT_ID = re.compile(r"^[\w.@+-]+$")  # WeChat ids, and the phone and QQ numbers people type instead


def wechat_id_problem(value: str) -> str | None:
    """A bilingual ("中文 / English") problem of a WeChat id cell, None when fine or empty."""
    if value and (len(value) > MAX_WECHAT_ID or not _WECHAT_ID.match(value)):
        return "微信号只能含字母、数字和 _ - . @ +，最多 64 个字符 / WeChat id: letters, digits, _ - . @ +, at most 64"
    return None


async def store_wechat_ids(tx: Executor, tenant_id: int, rows: Iterable[tuple[str, str]]) -> None:
    """`rows`: (login key, WeChat id or "") of accounts of the tenant written in this transaction."""
    pairs = list(rows)
    for start in range(0, len(pairs), CHUNK):
        chunk = pairs[start:start + CHUNK]
        ids = {r["login_key"]: int(r["id"]) for r in await tx.fetchall(
            "SELECT id, login_key FROM accounts WHERE tenant_id = ?"
            f" AND login_key IN ({', '.join('?' * len(chunk))})", (tenant_id, *[key for key, _ in chunk]))}
        account_ids = [ids[key] for key, _ in chunk if key in ids]
        if account_ids:
            await tx.execute("DELETE FROM account_wechat_ids WHERE tenant_id = ?"
                             f" AND account_id IN ({', '.join('?' * len(account_ids))})", (tenant_id, *account_ids))
        keep = [(tenant_id, ids[key], wechat) for key, wechat in chunk if wechat and key in ids]
        if keep:
            await tx.execute("INSERT INTO account_wechat_ids (tenant_id, account_id, wechat_id) VALUES "
                             + ", ".join(["(?, ?, ?)"] * len(keep)), [v for row in keep for v in row])
