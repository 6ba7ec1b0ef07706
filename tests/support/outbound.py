"""DNS for tests. The outbound guard takes its resolver as a parameter, so a test hands in its own
answers (a hosts table, or an attacker's DNS that changes its answer) and everything else — the
guard, the connection to the checked address, the HTTP exchange — runs for real."""

from __future__ import annotations

import socket
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

#: A public address by the guard's rules that no network routes (from 3000::/4, which IANA has
#: given to no registry): the partners' names of the seeded directories resolve to it, so their
#: https URLs can be registered, and nothing is ever delivered there.
UNROUTED_PUBLIC_ADDRESS = "3000::1"


@dataclass(eq=False)
class Hosts:
    """Answers from a table, as /etc/hosts gives them; a name not in it does not resolve."""

    table: Mapping[str, Sequence[str]]
    asked: list[str] = field(default_factory=list)

    def __call__(self, host: str, port: int) -> list[str]:
        self.asked.append(host)
        if host not in self.table:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return list(self.table[host])


@dataclass(eq=False)
class RebindingDns:
    """An attacker's DNS: the first ``honest`` answers are a public address, every later one is
    ``inside`` — the name passes the check at registration and points inward at delivery."""

    public: Sequence[str]
    inside: Sequence[str]
    honest: int = 1
    answers: int = 0

    def __call__(self, host: str, port: int) -> list[str]:
        self.answers += 1
        return list(self.public if self.answers <= self.honest else self.inside)


PARTNER_HOSTS = Hosts(
    {name: [UNROUTED_PUBLIC_ADDRESS] for name in ("partner.example", "talk-well.example")}
)
