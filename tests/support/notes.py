"""Two small services used to test the platform: ``source`` writes notes, ``sink`` records them.

They are real services on the real platform code (models, unit of work, outbox, relay, consumer,
inbox); only their domain is tiny so the tests can count effects exactly.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

from flask_smorest import Blueprint
from marshmallow import Schema, fields
from sqlalchemy import Integer, String, insert, select
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shared.contracts import ContractRegistry, Event
from shared.db import service_metadata
from shared.messaging.subscription import Subscription
from shared.messaging.tables import messaging_tables
from shared.service import ServiceRuntime, ServiceSpec
from shared.unit_of_work import UnitOfWork
from shared.web import require_roles
from shared.web.service_app import build_app, current_runtime

REGISTRY = ContractRegistry()
NOTE_WRITTEN = "casehub.source.note.written.v1"
NOTE_ROUTING_KEY = "source.note.written.v1"


@REGISTRY.register(NOTE_WRITTEN, "A note was written for a subject.")
class NoteWritten(Schema):
    note_id = fields.String(required=True)
    text = fields.String(required=True)
    sequence = fields.Integer(load_default=0)


class SourceBase(DeclarativeBase):
    metadata = service_metadata()


class Note(SourceBase):
    __tablename__ = "notes"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    subject: Mapped[str] = mapped_column(String(64))
    text: Mapped[str] = mapped_column(String(500))


SOURCE_TABLES = messaging_tables(SourceBase.metadata)


class SinkBase(DeclarativeBase):
    metadata = service_metadata()


class Effect(SinkBase):
    __tablename__ = "effects"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    event_id: Mapped[str] = mapped_column(String(36))
    note_id: Mapped[str] = mapped_column(String(64))
    subject: Mapped[str] = mapped_column(String(64))
    sequence: Mapped[int] = mapped_column(Integer)
    correlation_id: Mapped[str | None] = mapped_column(String(128), nullable=True)


SINK_TABLES = messaging_tables(SinkBase.metadata)


@dataclass
class HandlerFaults:
    """Which notes the sink's handler currently fails on (a bug that gets fixed), and its calls."""

    failing_note_ids: set[str] = field(default_factory=set)
    #: Notes whose effect the database refuses (NOT NULL), seen only when the session flushes.
    refused_note_ids: set[str] = field(default_factory=set)
    calls: Counter[str] = field(default_factory=Counter)
    #: The notes each call of the batch hook was given, in order.
    batches: list[list[str]] = field(default_factory=list)


FAULTS = HandlerFaults()


def write_note(uow: UnitOfWork, note_id: str, subject: str, text: str, sequence: int = 0) -> Event:
    uow.session.add(Note(id=note_id, subject=subject, text=text))
    return uow.publish(
        NOTE_WRITTEN, subject=subject, data={"note_id": note_id, "text": text, "sequence": sequence}
    )


def on_note_written(event: Event, uow: UnitOfWork) -> None:
    note_id = event.data["note_id"]
    FAULTS.calls[note_id] += 1
    if note_id in FAULTS.failing_note_ids:
        raise RuntimeError(f"cannot handle note {note_id} yet")
    uow.session.add(
        Effect(
            event_id=event.id,
            note_id=note_id,
            subject=None if note_id in FAULTS.refused_note_ids else event.subject,  # type: ignore[arg-type]
            sequence=event.data["sequence"],
            correlation_id=event.correlationid,
        )
    )


def on_notes_written(events: Sequence[Event], uow: UnitOfWork) -> None:
    """The batch hook: one insert for the run, failing on the notes the handler fails on."""
    note_ids = [event.data["note_id"] for event in events]
    FAULTS.batches.append(note_ids)
    failing = FAULTS.failing_note_ids.intersection(note_ids)
    if failing:
        raise RuntimeError(f"cannot handle notes {sorted(failing)} yet")
    uow.session.execute(
        insert(Effect),
        [
            {
                "event_id": event.id,
                "note_id": event.data["note_id"],
                "subject": None
                if event.data["note_id"] in FAULTS.refused_note_ids
                else event.subject,
                "sequence": event.data["sequence"],
                "correlation_id": event.correlationid,
            }
            for event in events
        ],
    )


class NoteIn(Schema):
    note_id = fields.String(required=True)
    subject = fields.String(required=True)
    text = fields.String(required=True)


class NoteOut(Schema):
    note_id = fields.String()
    event_id = fields.String()


NOTES = Blueprint("notes", __name__, url_prefix="/notes", description="Notes")


@NOTES.route("", methods=["POST"])
@require_roles("case_manager")
@NOTES.arguments(NoteIn)
@NOTES.response(201, NoteOut)
def create_note(body: dict[str, str]) -> dict[str, str]:
    with current_runtime().unit_of_work() as uow:
        event = write_note(uow, body["note_id"], body["subject"], body["text"])
    return {"note_id": body["note_id"], "event_id": event.id}


def source_spec(name: str) -> ServiceSpec:
    return ServiceSpec(
        name=name,
        title="Notes",
        metadata=SourceBase.metadata,
        tables=SOURCE_TABLES,
        description="Test source service.",
        handlers={},
        blueprints=[NOTES],
        build_app=build_app,
        registry=REGISTRY,
    )


def sink_spec(name: str, *, batched: bool = False) -> ServiceSpec:
    """``batched``: the handler comes with a batch hook (``on_notes_written``)."""
    handler = Subscription(on_note_written, batch=on_notes_written) if batched else on_note_written
    return ServiceSpec(
        name=name,
        title="Sink",
        description="Test sink service.",
        metadata=SinkBase.metadata,
        tables=SINK_TABLES,
        handlers={NOTE_ROUTING_KEY: handler},
        build_app=build_app,
        registry=REGISTRY,
    )


def effects(runtime: ServiceRuntime) -> list[Effect]:
    with runtime.database.read_session() as session:
        return list(session.scalars(select(Effect).order_by(Effect.id)))
