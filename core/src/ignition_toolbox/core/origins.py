"""Origins parsed strictly: where a credential's secrets may go (SR-21).

An origin is (scheme, host, port) with the host in one canonical spelling, so that the many ways of
writing an address cannot smuggle another host past a comparison: userinfo (``http://a@b/``),
backslashes (browsers read ``http://a\\@b`` as host ``a``), IDNA (``xn--`` and Unicode spellings
of one name), IPv4 in decimal, octal or hex forms, and IPv6 in its compressed and mapped forms.
Anything that is not plainly one http(s) host and port is refused rather than guessed at.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from typing import NamedTuple
from urllib.parse import urlsplit

from .errors import ValidationError

DEFAULT_PORTS = {"http": 80, "https": 443}
_HOST_LABEL = re.compile(r"^(?!-)[a-z0-9_-]{1,63}(?<!-)$")
# Shapes that browsers and libc read as IPv4 numbers: 2130706433, 0x7f.1, 0177.0.0.1, 127.1
_NUMERIC_HOST = re.compile(r"^(0x[0-9a-f]*|[0-9]+)(\.(0x[0-9a-f]*|[0-9]+)){0,3}\.?$")


class OriginError(ValidationError):
    """A URL whose origin cannot be read unambiguously."""


class Origin(NamedTuple):
    scheme: str
    host: str
    port: int

    def __str__(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        if DEFAULT_PORTS.get(self.scheme) == self.port:
            return f"{self.scheme}://{host}"
        return f"{self.scheme}://{host}:{self.port}"


def _ipv4_from_numeric(host: str) -> str:
    """The dotted-quad an inet_aton-style spelling stands for (``127.1`` is ``127.0.0.1``)."""
    parts = [p for p in host.rstrip(".").split(".")]
    numbers: list[int] = []
    for part in parts:
        if part.startswith("0x"):
            numbers.append(int(part[2:] or "0", 16))
        elif len(part) > 1 and part.startswith("0"):
            numbers.append(int(part, 8))
        else:
            numbers.append(int(part))
    *head, last = numbers
    if any(n > 255 for n in head) or last >= 256 ** (5 - len(numbers)):
        raise OriginError("the host is not a valid IPv4 address")
    value = 0
    for n in head:
        value = value * 256 + n
    value = value * 256 ** (5 - len(numbers)) + last
    return str(ipaddress.IPv4Address(value))


def canonical_host(host: str) -> str:
    """One spelling per host: lower case, IDNA A-labels, canonical IP text."""
    if not host:
        raise OriginError("the URL has no host")
    if ":" in host:
        try:
            address = ipaddress.IPv6Address(host.strip("[]"))
        except ValueError:
            raise OriginError("the host is not a valid IPv6 address") from None
        mapped = address.ipv4_mapped
        return str(mapped) if mapped is not None else str(address)
    lowered = host.lower()
    if _NUMERIC_HOST.match(lowered):
        return _ipv4_from_numeric(lowered)
    try:
        ascii_host = lowered.encode("idna").decode("ascii")
    except UnicodeError:
        raise OriginError("the host name is not valid") from None
    ascii_host = ascii_host.rstrip(".")
    labels = ascii_host.split(".")
    if not all(_HOST_LABEL.match(label) for label in labels):
        raise OriginError("the host name is not valid")
    return ascii_host


def parse_origin(url: str) -> Origin:
    """The origin of an http(s) URL, or ``OriginError``. URLs with userinfo are refused."""
    if not isinstance(url, str) or not url or len(url) > 4096:
        raise OriginError("not a URL")
    if "\\" in url or any(ord(c) < 0x21 for c in url):
        raise OriginError("the URL contains a backslash, a space or a control character")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise OriginError("the URL's host or port is not valid") from None
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS:
        raise OriginError("only http and https URLs have an origin a secret may go to")
    if "@" in parts.netloc:
        raise OriginError("the URL contains user information")
    host = canonical_host(parts.hostname or "")
    return Origin(scheme, host, port if port is not None else DEFAULT_PORTS[scheme])


def same_origin(a: str, b: str) -> bool:
    try:
        return parse_origin(a) == parse_origin(b)
    except OriginError:
        return False


@dataclass(frozen=True)
class Binding:
    """Where one credential's secrets may go: its gateway's origin and a few extra origins."""

    credential: str
    origins: tuple[Origin, ...]

    @classmethod
    def of(cls, credential: str, urls: list[str | None]) -> Binding:
        found: list[Origin] = []
        for url in urls:
            if not url:
                continue
            try:
                origin = parse_origin(url)
            except OriginError:
                continue  # a stored URL that does not parse binds nothing
            if origin not in found:
                found.append(origin)
        return cls(credential, tuple(found))

    def allows(self, url: str) -> bool:
        try:
            return parse_origin(url) in self.origins
        except OriginError:
            return False

    def describe(self) -> str:
        if not self.origins:
            return "no origin"
        return ", ".join(str(o) for o in self.origins)

    def refusal(self, url: str, what: str = "sent") -> str:
        """The message of a refused send, naming both origins."""
        try:
            target = str(parse_origin(url))
        except OriginError as exc:
            target = f"an unreadable origin ({exc.message})"
        if not self.origins:
            return (
                f"credential '{self.credential}' is bound to no origin, so its secrets are not "
                f"{what} to {target}: give it the gateway_url (and any extra origins) it is for"
            )
        return (
            f"the secrets of credential '{self.credential}' may only be {what} to "
            f"{self.describe()}, not to {target}"
        )


# Addresses no gateway lives at, where a request would reach the machine's own services instead:
# cloud metadata (link-local), "any address" and multicast groups.
def special_address(host: str) -> str | None:
    """Why ``host`` (already canonical) is an address a gateway URL may not name, or None."""
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return None
    if address.is_link_local:
        return "a link-local address"
    if address.is_unspecified:
        return "the unspecified address"
    if address.is_multicast:
        return "a multicast address"
    return None


__all__ = [
    "Binding",
    "Origin",
    "OriginError",
    "canonical_host",
    "parse_origin",
    "same_origin",
    "special_address",
]
