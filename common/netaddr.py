"""The address phones use to reach a server on the LAN, found without sending anything.

``lan_ipv4`` finds this machine's primary IPv4 address: a UDP socket ``connect()``ed to
a private-range address makes the kernel choose the route and the source address, and
sends no packet (UDP has no handshake); ``getsockname()`` then reads that source address.
No route (no network) means no answer, never a wait. ``public_base_url`` decides the
address the QR codes carry: an explicit one wins; the detected LAN address is used only
for a server listening on every interface (``0.0.0.0``, ``::``); a server on loopback
gets none (the pages then use the address the browser came in on, and say so).
"""
from __future__ import annotations

import ipaddress
import socket
from typing import Callable
from urllib.parse import urlsplit

#: A private-range (RFC 1918) address to route towards; nothing is ever sent to it.
PROBE_ADDRESS = ("10.254.254.254", 1)

#: Hosts that mean "every interface" to a server.
ALL_INTERFACES = frozenset({"0.0.0.0", "::", "[::]", ""})


def lan_ipv4() -> str | None:
    """Return this machine's primary IPv4 address on its network, or ``None``."""
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.connect(PROBE_ADDRESS)  # chooses a route; sends nothing
            address = sock.getsockname()[0]
    except OSError:
        return None
    ip = ipaddress.ip_address(address)
    if ip.is_loopback or ip.is_unspecified or ip.is_link_local:
        return None
    return address


def listens_on_all(host: str) -> bool:
    """Whether a server bound to ``host`` listens on every interface."""
    return host.strip() in ALL_INTERFACES


def public_base_url(configured: str | None, host: str, port: int,
                    detect: Callable[[], str | None] = lan_ipv4) -> str | None:
    """Return the base URL for QR codes: ``configured`` if set; else, for a server on
    every interface, ``http://<LAN address>:<port>`` if one is found; for a server on one
    address that is not loopback, that address; else ``None``."""
    if configured:
        return configured
    if not listens_on_all(host):
        named = host.strip()
        if is_loopback_url(f"http://{_bracketed(named)}/"):
            return None
        return f"http://{_bracketed(named)}:{port}"  # one address given: phones use it
    address = detect()
    return f"http://{address}:{port}" if address else None


def local_url(host: str, port: int) -> str:
    """Return the address this machine reaches a server at that listens on ``host``:
    loopback for a server on every interface."""
    return f"http://{'127.0.0.1' if listens_on_all(host) else _bracketed(host.strip())}:{port}"


def _bracketed(host: str) -> str:
    return f"[{host}]" if ":" in host and not host.startswith("[") else host


def is_loopback_url(url: str) -> bool:
    """Whether ``url`` names this machine only (``localhost``, 127.x, ``::1``, 0.0.0.0):
    an address no phone can open."""
    try:
        host = (urlsplit(url.strip()).hostname or "").lower()
    except ValueError:
        return False
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return False
    return ip.is_loopback or ip.is_unspecified


def is_http_url(url: str) -> bool:
    """Whether ``url`` is an ``http(s)://host[:port][/path]`` address."""
    try:
        parts = urlsplit(url.strip())
        parts.port  # raises ValueError on a bad port
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.hostname) \
        and not parts.query and not parts.fragment
