"""Where Casehub may send requests whose address someone else chose: partners' and people's webhooks.

Unchecked, a webhook URL lets whoever registers it make Casehub's network reach its own loopback
services, the cloud's metadata endpoint (169.254.169.254) or the private network, and read from
the delivery log what answered there. ``OutboundGuard.check`` allows https only, resolves the host
once, refuses the URL unless every address it resolved to is a public internet address, and
returns the addresses it checked. The sender connects to one of those and never resolves again, so
a name that resolves to a public address at the check and to a private one a moment later (DNS
rebinding) gets nowhere. Run at registration (a 422 the caller can act on) and before every
delivery (the name may have changed since).

``allow_private`` (``CASEHUB_ALLOW_PRIVATE_WEBHOOKS=1``) is for development on one machine: it
allows any address, and on the embedded default (SQLite and ``filesystem://``, what ``casehub dev``
runs) also http, so a receiver on localhost can be tried. Anywhere else a webhook is https only,
whatever the setting says: a real deployment never sends events in clear.
"""

from __future__ import annotations

import ipaddress
import re
import socket
import urllib.parse
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from shared.config import Settings

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
#: ``resolve(host, port)`` -> the IP addresses the host has now, as text. Raises OSError when the
#: name does not resolve. The system's resolver unless a test hands in its own DNS.
Resolver = Callable[[str, int], Sequence[str]]

#: Special-purpose ranges (IANA registries, RFC 6890 and successors) that are never a partner's
#: public endpoint, listed here rather than left to ``ipaddress``' flags alone, which differ
#: between Python versions.
NOT_PUBLIC = tuple(
    ipaddress.ip_network(network)
    for network in (
        "0.0.0.0/8",  # "this network", 0.0.0.0 reaches the local host
        "10.0.0.0/8",
        "100.64.0.0/10",  # carrier-grade NAT (RFC 6598)
        "127.0.0.0/8",
        "169.254.0.0/16",  # link-local, cloud metadata endpoints
        "172.16.0.0/12",
        "192.0.0.0/24",
        "192.0.2.0/24",
        "192.88.99.0/24",  # 6to4 relay anycast (deprecated)
        "192.168.0.0/16",
        "198.18.0.0/15",
        "198.51.100.0/24",
        "203.0.113.0/24",
        "224.0.0.0/4",  # multicast
        "240.0.0.0/4",  # reserved, broadcast
        "::/96",  # unspecified, loopback, IPv4-compatible (deprecated)
        "::ffff:0:0/96",  # IPv4-mapped: would reach whatever IPv4 address it carries
        "64:ff9b:1::/48",  # local-use NAT64
        "100::/64",  # discard-only
        "2001::/23",  # IETF protocol assignments, Teredo among them
        "2001:db8::/32",
        "2002::/16",  # 6to4: carries an IPv4 address
        "3fff::/20",
        "fc00::/7",  # unique local
        "fe80::/10",  # link-local
        "fec0::/10",  # site-local (deprecated)
        "ff00::/8",  # multicast
    )
)
#: NAT64 (RFC 6052): public only when the IPv4 address it carries is.
NAT64 = ipaddress.ip_network("64:ff9b::/96")
#: Host spellings the C library reads as IPv4 (``2130706433``, ``0x7f000001``, ``127.1``).
_NUMERIC_HOST = re.compile(r"[0-9a-fx.]+")

HTTPS_ONLY = "must be an https:// URL"
NO_CREDENTIALS = "must not carry a user name or password (the secret signs each request)"
NO_HOST = "must name a host"
BAD_PORT = "has a port that is not a number from 1 to 65535"
NOT_PUBLIC_NAME = (
    "must be on a host that resolves to public internet addresses only; this host does not "
    "resolve, or resolves to a loopback, private, link-local or otherwise reserved address"
)


class OutboundRefused(ValueError):
    """The URL may not be sent to; the message says why in words fit for whoever registered it."""


@dataclass(frozen=True)
class Destination:
    """A checked URL: connect to one of ``addresses`` only, with ``host`` as Host and TLS name."""

    scheme: str
    host: str
    port: int
    target: str
    addresses: tuple[str, ...]


def system_resolver(host: str, port: int) -> list[str]:
    return [
        str(info[4][0])
        for info in socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP
        )
    ]


def is_public(address: IPAddress) -> bool:
    """An address anyone on the internet could reach, and so a partner's endpoint may have."""
    if isinstance(address, ipaddress.IPv6Address) and address in NAT64:
        return is_public(ipaddress.IPv4Address(int(address) & 0xFFFFFFFF))
    if any(address in network for network in NOT_PUBLIC if network.version == address.version):
        return False
    return address.is_global and not (
        address.is_multicast
        or address.is_reserved
        or address.is_loopback
        or address.is_link_local
        or address.is_unspecified
        or address.is_private
    )


def _literal(host: str) -> IPAddress | None:
    """The address a host written as an IP address stands for, in every spelling a resolver
    accepts (``[::1]``, ``2130706433``, ``0x7f.1``), or None for a name."""
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        pass
    if _NUMERIC_HOST.fullmatch(host):
        try:
            return ipaddress.IPv4Address(socket.inet_aton(host))
        except OSError:
            return None
    return None


@dataclass(frozen=True)
class OutboundGuard:
    """Decides whether a URL may be sent to, and to which addresses exactly."""

    allow_private: bool = False
    resolve: Resolver = system_resolver
    #: Whether http:// is allowed besides https:// (None: when ``allow_private`` is).
    allow_http: bool | None = None

    @classmethod
    def for_settings(cls, settings: Settings) -> OutboundGuard:
        """http only on the embedded default with the development setting on."""
        return cls(
            allow_private=settings.allow_private_webhooks,
            allow_http=settings.allow_private_webhooks and settings.is_embedded_default,
        )

    @property
    def http_allowed(self) -> bool:
        return self.allow_private if self.allow_http is None else self.allow_http

    def check(self, url: str) -> Destination:
        """The destination with every address checked, or OutboundRefused saying why not."""
        parts = urllib.parse.urlsplit(url)
        scheme = parts.scheme.lower()
        if scheme != "https" and not (self.http_allowed and scheme == "http"):
            raise OutboundRefused(HTTPS_ONLY)
        if parts.username is not None or parts.password is not None:
            raise OutboundRefused(NO_CREDENTIALS)
        host = parts.hostname
        if not host:
            raise OutboundRefused(NO_HOST)
        try:
            port = parts.port
        except ValueError:
            raise OutboundRefused(BAD_PORT) from None
        if port is None:
            port = 443 if scheme == "https" else 80
        elif port < 1:
            raise OutboundRefused(BAD_PORT)
        literal = _literal(host)
        if literal is not None:
            if not self.allow_private and not is_public(literal):
                named = host if host == str(literal) else f"{host} ({literal})"
                raise OutboundRefused(
                    f"must be on a public internet address; {named} is a loopback, private, "
                    "link-local or otherwise reserved address"
                )
            addresses: tuple[IPAddress, ...] = (literal,)
            host = str(literal)
        else:
            try:
                host = host.encode("idna").decode("ascii")
            except UnicodeError:
                raise OutboundRefused(NOT_PUBLIC_NAME) from None
            addresses = self._resolved(host, port)
            if not addresses or not (
                self.allow_private or all(is_public(address) for address in addresses)
            ):
                raise OutboundRefused(NOT_PUBLIC_NAME)
        target = parts.path or "/"
        if parts.query:
            target += f"?{parts.query}"
        return Destination(scheme, host, port, target, tuple(str(a) for a in addresses))

    def _resolved(self, host: str, port: int) -> tuple[IPAddress, ...]:
        """Every address the name has now, once each; none when it does not resolve or the
        answer holds something that is not an address."""
        try:
            answers = self.resolve(host, port)
            found = [ipaddress.ip_address(answer) for answer in answers]
        except (OSError, UnicodeError, ValueError):
            return ()
        return tuple(dict.fromkeys(found))
