"""Outbox -> broker -> inbox: an event written with a change reaches its consumer exactly once."""

from __future__ import annotations

import json

import pytest

from shared.contracts import ContractViolation
from shared.web import mint_token
from tests.support.notes import Note, effects, write_note
from tests.support.platform import TestPlatform, inbox_ids, outbox_rows, wait_until


def test_event_written_with_change_is_delivered_once_with_one_effect(
    platform: TestPlatform,
) -> None:
    source, sink = platform.source(), platform.sink()
    with source.unit_of_work() as uow:
        event = write_note(uow, "n1", "client/1", "first contact")

    platform.start(source.relay().run, "relay")
    platform.start(sink.consumer().run, "consumer")

    assert wait_until(lambda: len(effects(sink)) == 1)
    assert wait_until(lambda: outbox_rows(source)[0].published_at is not None)
    [effect] = effects(sink)
    assert (effect.event_id, effect.note_id, effect.subject) == (event.id, "n1", "client/1")
    assert inbox_ids(sink) == {event.id}
    assert outbox_rows(source)[0].attempts == 1


def test_failed_change_writes_neither_row_nor_event(platform: TestPlatform) -> None:
    source = platform.source()
    with pytest.raises(RuntimeError), source.unit_of_work() as uow:
        write_note(uow, "n1", "client/1", "text")
        raise RuntimeError("validation failed after the event was raised")

    with source.database.read_session() as session:
        assert session.get(Note, "n1") is None
    assert outbox_rows(source) == []


def test_event_with_invalid_data_is_refused_naming_the_field(platform: TestPlatform) -> None:
    source = platform.source()
    with pytest.raises(ContractViolation) as refused, source.unit_of_work() as uow:
        uow.session.add(Note(id="n1", subject="client/1", text="x"))
        uow.publish("casehub.source.note.written.v1", subject="client/1", data={"note_id": "n1"})

    assert "data.text" in str(refused.value)
    assert refused.value.messages == {"text": ["Missing data for required field."]}
    assert outbox_rows(source) == []


def test_request_id_of_the_api_call_travels_with_the_event(platform: TestPlatform) -> None:
    source, sink = platform.source(), platform.sink()
    token = mint_token(source.settings, "cm1", ["case_manager"])
    response = (
        source.create_app()
        .test_client()
        .post(
            "/notes",
            json={"note_id": "n1", "subject": "client/1", "text": "t"},
            headers={"Authorization": f"Bearer {token}", "X-Request-ID": "req-42"},
        )
    )
    assert response.status_code == 201 and response.headers["X-Request-ID"] == "req-42"
    platform.start(source.relay().run, "relay")
    platform.start(sink.consumer().run, "consumer")
    assert wait_until(lambda: len(effects(sink)) == 1)
    assert effects(sink)[0].correlation_id == "req-42"
    assert json.loads(outbox_rows(source)[0].payload)["correlationid"] == "req-42"


def test_api_refuses_bad_input_with_problem_json_and_writes_nothing(platform: TestPlatform) -> None:
    source = platform.source()
    api = source.create_app().test_client()
    token = mint_token(source.settings, "cm1", ["case_manager"])
    response = api.post(
        "/notes", json={"note_id": "n1"}, headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code == 422
    assert response.content_type == "application/problem+json"
    assert set(response.json["errors"]["json"]) == {"subject", "text"}
    assert api.post("/notes", json={}).status_code == 401
    assert outbox_rows(source) == []
