"""Who is calling, as the service layer sees it: plain data, no web framework (the web layer
builds it from a verified token; workers and tests build it directly)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Principal:
    """Who is calling: subject, roles, and for partners the organisation they act for."""

    sub: str
    roles: frozenset[str]
    org: str | None = None

    def has_any(self, *roles: str) -> bool:
        return not self.roles.isdisjoint(roles)
