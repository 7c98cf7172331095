"""Where alerts may be sent: no loopback, link-local or private addresses by default.

A webhook URL comes from a config file or an environment variable, and the
daemon often runs next to things that must not be reachable by a request it
makes (a cloud metadata service at 169.254.169.254, an admin port on
localhost). So every attempt resolves the host first, refuses any address
that is not public unless the sink says ``allow_private = true``, and then
connects to exactly the address it checked (the caller pins it), so a DNS
answer cannot change between the check and the connection. A literal IP in
the URL is checked when the config loads, so the mistake is reported before
the daemon starts.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Sequence

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class AddressRefused(Exception):
    """The destination resolves to an address this sink may not reach."""


def address_kind(ip: IPAddress) -> str | None:
    """Why an address is not public (``loopback``, ``link-local``, …), or None if it is."""
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if ip.is_loopback:
        return "loopback"
    if ip.is_link_local:
        return "link-local"
    if ip.is_unspecified:
        return "unspecified"
    if ip.is_multicast:
        return "multicast"
    if ip.is_private:
        return "private"
    if ip.is_reserved or not ip.is_global:
        return "non-public"
    return None


def literal_ip(host: str) -> IPAddress | None:
    """The address a URL's host names literally (``[::1]`` included), or None for a name."""
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None


def refusal(host: str, ip: IPAddress) -> str | None:
    """A person-readable reason to refuse ``ip`` (reached through ``host``), or None."""
    kind = address_kind(ip)
    if kind is None:
        return None
    literal = literal_ip(host) == ip
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    what = f"{ip} is a" if literal else f"{host} resolves to {ip}, a"
    extra = " (cloud metadata services live there)" if kind == "link-local" else ""
    return f"{what} {kind} address{extra}; refused unless the sink sets allow_private = true"


def host_allowed(host: str, allowed_hosts: Sequence[str]) -> bool:
    """Whether ``host`` is on the allow-list; an empty list allows every host.

    An entry ``*.example.com`` allows the sub-domains of example.com, not
    example.com itself.
    """
    if not allowed_hosts:
        return True
    host = host.lower().rstrip(".")
    for entry in allowed_hosts:
        entry = entry.lower().rstrip(".")
        if entry.startswith("*."):
            if host.endswith(entry[1:]):
                return True
        elif host == entry:
            return True
    return False


async def resolve_checked(host: str, port: int, *, allow_private: bool) -> list[str]:
    """Resolve ``host`` and return the addresses to connect to, refusing non-public ones.

    ``loop.getaddrinfo`` runs the blocking resolver in a thread. Every
    address the name resolves to must pass, not only the first: a name that
    mixes public and private answers is refused as a whole. The addresses
    come in the resolver's order of preference.
    """
    ip = literal_ip(host)
    if ip is not None:
        addresses: list[IPAddress] = [ip]
    else:
        loop = asyncio.get_running_loop()
        try:
            infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except socket.gaierror as exc:
            raise OSError(f"cannot resolve {host}: {exc.strerror or exc}") from None
        addresses = list(
            dict.fromkeys(ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in infos)
        )
        if not addresses:
            raise OSError(f"cannot resolve {host}: no addresses")
    if not allow_private:
        for address in addresses:
            reason = refusal(host, address)
            if reason is not None:
                raise AddressRefused(reason)
    return [str(a) for a in addresses]
