"""The client address that rate limits count: the connection's peer, or, from a trusted proxy,
the right-most address of the one header the operator named that is not itself a trusted proxy.
IPv6 clients are counted per /64, since one subscriber usually holds a whole /64."""
from __future__ import annotations

import ipaddress
from typing import Mapping


def _networks(entries: list[str]) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    networks = []
    for entry in entries:
        try:
            networks.append(ipaddress.ip_network(entry, strict=False))
        except ValueError:
            continue
    return networks


def ip_in(ip: str, entries: list[str]) -> bool:
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return False
    return any(address in network for network in _networks(entries))


def _valid_ip(text: str) -> str | None:
    try:
        return str(ipaddress.ip_address(text.strip()))
    except ValueError:
        return None


def client_ip(peer: str, headers: Mapping[str, str], trusted_proxies: list[str],
              header: str = "X-Forwarded-For") -> str:
    """The connection's address, unless it is a trusted proxy: then, in the named header (every
    other one is ignored, whoever sent it), the right-most entry that is not a trusted proxy. An
    entry that is not an address stops the walk: what lies left of it cannot be trusted either."""
    if not trusted_proxies or not ip_in(peer, trusted_proxies):
        return peer
    entries = [part.strip() for part in (headers.get(header, "") or "").split(",") if part.strip()]
    found = peer
    for entry in reversed(entries):
        address = _valid_ip(entry)
        if address is None:
            break
        found = address
        if not ip_in(address, trusted_proxies):
            return address
    return found


def ip_bucket(ip: str) -> str:
    """What a per-IP limit counts: the IPv4 address, or the IPv6 address's /64 network (an IPv4
    address mapped into IPv6 counts as the IPv4 address)."""
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return ip
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.ip_network(f"{address}/64", strict=False))
    return str(address)
