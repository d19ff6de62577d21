"""The names this server answers to (SR-17 ``server_names``) and the reading of a ``Host`` header.

In key mode every request's ``Host`` must be one of them: a request naming another host was meant
for another server (or is a DNS-rebinding page), and whatever the app builds from ``Host`` (the
same-origin check, a redirect's ``Location``) must never carry a name an attacker chose.

Without ``--server-name`` the names follow from the bind address: a loopback bind answers to the
loopback names; a wildcard bind (``0.0.0.0``, ``::``) also to this machine's host name, its fully
qualified name and the addresses that name has; any other address to itself (and the machine's
names when they resolve to it). Other names an operator uses are given with ``--server-name``.
"""

from __future__ import annotations

import ipaddress
import re
import socket

LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})

# One host and an optional port; IPv6 in brackets. Anything else (userinfo, a path, spaces, two
# ports) is no Host header a client that means this server sends.
_HOST_HEADER = re.compile(
    r"^(?:\[(?P<v6>[0-9a-f:.]+(?:%[a-z0-9._-]+)?)\]|(?P<name>[a-z0-9._-]+))(?::[0-9]{1,5})?$"
)


def host_name(header: str | None) -> str | None:
    """The host of a ``Host`` header: lower case, no port, IPv6 without brackets, no final dot.

    None when the header is missing or is not plainly one host with an optional port."""
    if not header:
        return None
    match = _HOST_HEADER.match(header.strip().lower())
    if match is None:
        return None
    if match.group("v6") is not None:
        try:
            return str(ipaddress.IPv6Address(match.group("v6")))
        except ValueError:
            return None
    name = match.group("name").rstrip(".")
    return name or None


def normalise(name: str) -> str:
    """A configured server name in the form ``host_name`` gives; ValueError when it is not one."""
    host = name.strip()
    if host.count(":") > 1 and not host.startswith("["):
        host = f"[{host}]"  # a bare IPv6 address (one colon is a name and its port)
    normal = host_name(host)
    if normal is None:
        raise ValueError(f"not a host name or address: {name!r}")
    return normal


def parse_list(value: str) -> tuple[str, ...]:
    """``a,b, c`` (the ``ITK_SERVER_NAMES`` and ``--server-name`` form) as normalised names."""
    return tuple(normalise(part) for part in value.split(",") if part.strip())


def _machine() -> tuple[set[str], set[str]]:
    """This machine's names and the addresses they resolve to, without failing on a bad resolver."""
    names: set[str] = set()
    addresses: set[str] = set()
    try:
        hostname = socket.gethostname()
    except OSError:
        return names, addresses
    for candidate in (hostname, socket.getfqdn(hostname)):
        try:
            names.add(normalise(candidate))
        except ValueError:
            continue
    for name in list(names):
        try:
            infos = socket.getaddrinfo(name, None, proto=socket.IPPROTO_TCP)
        except OSError:
            continue
        for info in infos:
            try:
                addresses.add(str(ipaddress.ip_address(str(info[4][0]).split("%")[0])))
            except ValueError:
                continue
    return names, addresses


def default_server_names(bind: str) -> frozenset[str]:
    """The names a server bound to ``bind`` answers to when none are configured."""
    host = normalise(bind)
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        # Bound to a name: that name, and the loopback names when it is one of them.
        return frozenset({host} | (LOOPBACK_HOSTS if host == "localhost" else set()))
    if address.is_loopback:
        return frozenset({host} | LOOPBACK_HOSTS)
    names, addresses = _machine()
    if address.is_unspecified:
        # A wildcard socket answers on every interface, loopback included.
        return frozenset(LOOPBACK_HOSTS | names | addresses)
    if str(address) in addresses:
        return frozenset({host} | names)
    return frozenset({host})


__all__ = ["LOOPBACK_HOSTS", "default_server_names", "host_name", "normalise", "parse_list"]
