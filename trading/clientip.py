"""The client's IP address behind trusted proxies: for the audit ledger (R33) and for per-IP limits.

X-Forwarded-For is read from the right. The TCP peer comes first: while the address in hand is one of
``settings.TRUSTED_PROXIES`` (CIDRs), the next address to the left is what that proxy saw. The first
address that is not a trusted proxy is the client. A client that connects directly is not a trusted
proxy, so whatever X-Forwarded-For it sends is ignored; behind nginx, only the entry nginx appended
(``$proxy_add_x_forwarded_for``) is believed, never the ones the client wrote before it.
"""

import ipaddress
from functools import lru_cache

from django.conf import settings

MAX_LENGTH = 45  # the longest textual IPv6 address, and LedgerEntry.ip's max_length


@lru_cache(maxsize=8)
def _networks(cidrs: tuple[str, ...]) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    return tuple(ipaddress.ip_network(cidr, strict=False) for cidr in cidrs)


def _address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        address = ipaddress.ip_address(text.strip())
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def _is_trusted_proxy(address) -> bool:
    return any(address in network for network in _networks(tuple(settings.TRUSTED_PROXIES)))


def client_ip_resolve(*, peer: str, forwarded_for: str = "") -> str:
    """The client's address, given the TCP peer and the X-Forwarded-For value ("" when unknown)."""
    current = _address(peer or "")
    if current is None:
        return ""
    hops = [hop for hop in (forwarded_for or "").split(",") if hop.strip()]
    while hops and _is_trusted_proxy(current):
        previous = _address(hops.pop())
        if previous is None:  # a proxy we trust wrote garbage: stop at the last address we can vouch for
            break
        current = previous
    return str(current)[:MAX_LENGTH]


def client_ip(request) -> str:
    """The client's address for a Django request (HTTP through daphne, or the test client)."""
    meta = request.META
    return client_ip_resolve(peer=meta.get("REMOTE_ADDR") or "", forwarded_for=meta.get("HTTP_X_FORWARDED_FOR") or "")


def client_ip_from_scope(scope) -> str:
    """The client's address for an ASGI scope (a WebSocket connection)."""
    client = scope.get("client")
    peer = str(client[0]) if client else ""
    forwarded = [value.decode("latin-1") for key, value in scope.get("headers", []) if key == b"x-forwarded-for"]
    return client_ip_resolve(peer=peer, forwarded_for=",".join(forwarded))
