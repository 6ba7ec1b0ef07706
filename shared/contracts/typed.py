"""Typed event constructors: a producer writes ``uow.publish(PlanApproved(...))`` instead of a type
string and a hand-built dict, so a misspelt type or field is an error where it is written. The
data handed to the outbox is the same mapping the dict form gave, so the wire format is unchanged
(the contract's schema still validates and serializes it)."""

from __future__ import annotations

import dataclasses
from typing import Any, ClassVar


@dataclasses.dataclass(frozen=True)
class TypedEvent:
    """Base of every typed event: ``TYPE`` names the contract, the fields are its data, in the
    contract's names. Most events are about one client; others override ``subject``."""

    TYPE: ClassVar[str]

    @property
    def subject(self) -> str:
        return f"client/{self.client_id}"  # type: ignore[attr-defined]

    def data(self) -> dict[str, Any]:
        return {field.name: getattr(self, field.name) for field in dataclasses.fields(self)}
