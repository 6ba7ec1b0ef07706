"""The single registry of event types: one marshmallow schema per type and version."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from marshmallow import EXCLUDE, Schema, ValidationError

from shared.contracts.envelope import EVENT_TYPE_PATTERN, Event, routing_key_for


class UnknownEventType(LookupError):
    """No contract is registered for this type (and version)."""


class ContractViolation(ValueError):
    """An event's data does not match its contract; ``messages`` names each bad field."""

    def __init__(self, event_type: str, messages: Mapping[str, Any]) -> None:
        self.event_type = event_type
        self.messages = dict(messages)
        named = ", ".join(f"data.{name}" for name in sorted(self.messages))
        super().__init__(f"{event_type}: invalid {named}: {self.messages}")


@dataclass(frozen=True)
class EventContract:
    type: str
    schema: type[Schema]
    description: str

    @property
    def producer(self) -> str:
        """The service that owns (publishes) this event type."""
        match = EVENT_TYPE_PATTERN.match(self.type)
        assert match is not None
        return match.group(1)

    @property
    def routing_key(self) -> str:
        return routing_key_for(self.type)


class ContractRegistry:
    """Producers validate before writing the outbox; consumers validate on receipt."""

    def __init__(self) -> None:
        self._contracts: dict[str, EventContract] = {}
        #: Building a marshmallow schema deep-copies its fields; one instance per type and mode
        #: is reused (loading keeps no state on the instance), which the profile asked for.
        self._schemas: dict[tuple[str, bool], Schema] = {}

    def register(self, event_type: str, description: str) -> Callable[[type[Schema]], type[Schema]]:
        if not EVENT_TYPE_PATTERN.match(event_type):
            raise ValueError(
                f"event type {event_type!r} must look like casehub.<service>.<aggregate>.<what>.v<N>"
            )

        def decorator(schema: type[Schema]) -> type[Schema]:
            if event_type in self._contracts:
                raise ValueError(f"event type {event_type} is registered twice")
            self._contracts[event_type] = EventContract(event_type, schema, description)
            return schema

        return decorator

    def __contains__(self, event_type: object) -> bool:
        return event_type in self._contracts

    def __iter__(self) -> Iterator[EventContract]:
        return iter(sorted(self._contracts.values(), key=lambda contract: contract.type))

    def get(self, event_type: str) -> EventContract:
        try:
            return self._contracts[event_type]
        except KeyError:
            raise UnknownEventType(f"no contract registered for {event_type}") from None

    def load(self, event_type: str, data: Any) -> dict[str, Any]:
        """The data as values a handler works with (dates as dates, moments as aware datetimes),
        read tolerantly; raises ContractViolation like ``validate``."""
        return self._load(event_type, data, tolerant=True)[1]

    def values(self, event: Event) -> dict[str, Any]:
        """What ``load`` gives for the event's data: the values the consumer loaded when it
        validated the event (``read``), else loaded now (an event built in a test or a replay)."""
        if event.values is not None:
            return dict(event.values)
        return self.load(event.type, event.data)

    def read(self, event_type: str, data: Any) -> tuple[dict[str, Any], dict[str, Any]]:
        """A consumer's tolerant validation: the serialisable data (as ``validate`` returns it)
        and the loaded values (as ``load`` returns them), from one load of the data."""
        schema, loaded = self._load(event_type, data, tolerant=True)
        return schema.dump(loaded), loaded

    def validate(self, event_type: str, data: Any, *, tolerant: bool = False) -> dict[str, Any]:
        """Return the serialisable data, or raise ContractViolation naming the fields.

        Producers validate strictly (an unknown field is a mistake); consumers read tolerantly
        (``unknown=EXCLUDE``) so a producer may add fields without breaking them.
        """
        schema, loaded = self._load(event_type, data, tolerant=tolerant)
        return schema.dump(loaded)

    def _load(self, event_type: str, data: Any, *, tolerant: bool) -> tuple[Schema, dict[str, Any]]:
        contract = self.get(event_type)
        if not isinstance(data, Mapping):
            raise ContractViolation(event_type, {"_schema": ["data must be a JSON object"]})
        schema = self._schemas.get((event_type, tolerant))
        if schema is None:
            schema = contract.schema(unknown=EXCLUDE) if tolerant else contract.schema()
            self._schemas[(event_type, tolerant)] = schema
        try:
            return schema, schema.load(data)
        except ValidationError as error:
            raise ContractViolation(event_type, error.normalized_messages()) from error


#: Every Casehub event type; each service's module in this package registers its own.
REGISTRY = ContractRegistry()
