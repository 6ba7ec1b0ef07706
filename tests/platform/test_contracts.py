"""Contracts: the envelope and the registry name what is wrong, field by field."""

from __future__ import annotations

import pytest
from marshmallow import Schema, fields

from shared.contracts import (
    ContractRegistry,
    ContractViolation,
    EnvelopeError,
    Event,
    UnknownEventType,
)


def _registry() -> ContractRegistry:
    registry = ContractRegistry()

    @registry.register("casehub.intake.client.registered.v1", "A client was registered.")
    class ClientRegistered(Schema):
        client_id = fields.String(required=True)

    return registry


def test_event_type_must_follow_the_naming_rule() -> None:
    with pytest.raises(ValueError, match=r"casehub\.<service>\.<aggregate>\.<what>\.v<N>"):
        ContractRegistry().register("intake.client.registered", "no prefix or version")


def test_an_event_type_is_registered_once() -> None:
    registry = _registry()
    with pytest.raises(ValueError, match="twice"):
        registry.register("casehub.intake.client.registered.v1", "again")(Schema)


def test_producer_validation_is_strict_and_names_the_field() -> None:
    with pytest.raises(ContractViolation) as violation:
        _registry().validate(
            "casehub.intake.client.registered.v1", {"client_id": "c1", "name": "Ann"}
        )
    assert violation.value.messages == {"name": ["Unknown field."]}
    assert "data.name" in str(violation.value)


def test_consumer_validation_ignores_fields_it_does_not_know() -> None:
    data = _registry().validate(
        "casehub.intake.client.registered.v1", {"client_id": "c1", "added_later": 1}, tolerant=True
    )
    assert data == {"client_id": "c1"}


def test_unknown_event_type_is_an_error() -> None:
    with pytest.raises(UnknownEventType):
        _registry().validate("casehub.intake.client.registered.v9", {})


def test_cloudevent_round_trip_keeps_every_attribute() -> None:
    event = Event(
        type="casehub.intake.client.registered.v1",
        source="/intake",
        subject="client/c1",
        data={"client_id": "c1"},
        correlationid="req-1",
        causationid="7d1c9d8e-2b43-4a52-9f0a-0a6a3b0b1c11",
    )
    envelope = event.to_cloudevent()
    assert envelope["specversion"] == "1.0" and envelope["datacontenttype"] == "application/json"
    assert Event.from_cloudevent(envelope) == event
    assert event.routing_key == "intake.client.registered.v1"


def test_broken_envelope_names_each_bad_attribute() -> None:
    with pytest.raises(EnvelopeError) as error:
        Event.from_cloudevent(
            {"specversion": "0.3", "id": "not-a-uuid", "source": "intake", "data": {}}
        )
    assert set(error.value.messages) == {"specversion", "id", "source", "type", "subject", "time"}


def test_intake_life_domains_are_the_contracts_life_domains() -> None:
    from services.intake.domain import LIFE_DOMAINS as intake_domains
    from shared.contracts.intake import LIFE_DOMAINS

    assert intake_domains == LIFE_DOMAINS
