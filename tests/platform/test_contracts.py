"""Contracts: the envelope and the registry name what is wrong, field by field."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from marshmallow import Schema, fields

from services.catalog import load_spec
from shared.config import SERVICE_NAMES
from shared.contracts import (
    REGISTRY,
    CloudEventSchema,
    ContractRegistry,
    ContractViolation,
    EnvelopeError,
    Event,
    UnknownEventType,
    envelope_attributes,
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


_SENT = Event(
    type="casehub.intake.client.registered.v1",
    source="/intake",
    subject="client/c1",
    data={"client_id": "c1"},
    correlationid="req-1",
).to_cloudevent()


@pytest.mark.parametrize(
    "changes",
    [
        {},
        {"time": "2026-11-30T16:00:00.5+14:00", "traceparent": None, "added_later": 1},
        {"datacontenttype": "text/plain", "causationid": "any text"},
        {"time": "2026-11-30T16:00:00"},  # no zone
        {"time": "30/11/2026"},
        {"time": 1764518400},
        {"id": "not-a-uuid"},
        {"id": 7},
        {"specversion": 1.0},
        {"source": "/Intake"},
        {"source": "/intake\n"},
        {"type": "casehub.intake.client.registered"},
        {"subject": ""},
        {"subject": "x" * 201},
        {"data": [1]},
        {"data": None},
        {"correlationid": 5},
        {"datacontenttype": None},
        {"traceparent": ["00"]},
        {"specversion": None, "time": None},
    ],
)
def test_the_envelope_is_read_as_the_schema_reads_it(changes: dict[str, object]) -> None:
    """The hand-written check of a well-formed envelope accepts what the schema accepts, with the
    same values, and leaves the rest to the schema, which names what is wrong."""
    envelope = {**_SENT, **changes}
    try:
        loaded = CloudEventSchema().load(envelope)
    except Exception:
        with pytest.raises(EnvelopeError):
            envelope_attributes(envelope)
        return
    attributes = envelope_attributes(envelope)
    assert attributes == {name: loaded[name] for name in attributes}
    assert set(attributes) == {"type", "source", "subject", "data", "id", "time"} | {
        "correlationid",
        "causationid",
        "traceparent",
    }


def test_intake_life_domains_are_the_contracts_life_domains() -> None:
    from services.intake.domain import LIFE_DOMAINS as intake_domains
    from shared.contracts.intake import LIFE_DOMAINS

    assert intake_domains == LIFE_DOMAINS


def _consumers(event_type: str) -> set[str]:
    routing_key = REGISTRY.get(event_type).routing_key
    return {name for name in SERVICE_NAMES if routing_key in load_spec(name).handlers}


@pytest.mark.parametrize(
    "event_type",
    [
        "casehub.intake.case_manager.updated.v1",
        "casehub.intake.case.assigned.v1",
        "casehub.intake.client.discharged.v1",
    ],
)
def test_every_change_of_team_or_care_is_produced_by_intake_and_reaches_every_access_rule(
    event_type: str,
) -> None:
    """Planning, referrals, notifications and reporting (a supervisor's teams) keep who may see
    what from these events."""
    assert REGISTRY.get(event_type).producer == "intake"
    assert _consumers(event_type) == {"planning", "referrals", "notifications", "reporting"}


def test_a_team_change_carries_identifiers_and_a_version_never_a_name() -> None:
    event_type = "casehub.intake.case_manager.updated.v1"
    data = {
        "case_manager_id": "cm-1",
        "team": "north",
        "supervisor_id": "sup-2",
        "caseload_cap": 40,
        "active": True,
        "version": 3,
        "updated_at": datetime(2026, 11, 30, 9, 0, tzinfo=UTC),
    }
    assert REGISTRY.validate(event_type, data)["version"] == 3
    with pytest.raises(ContractViolation) as named:
        REGISTRY.validate(event_type, {**data, "display_name": "Dana Okafor"})
    assert set(named.value.messages) == {"display_name"}
    with pytest.raises(ContractViolation) as unversioned:
        REGISTRY.validate(event_type, {k: v for k, v in data.items() if k != "version"})
    assert set(unversioned.value.messages) == {"version"}
