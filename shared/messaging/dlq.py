"""Operator access to a service's dead-letter queue: list, show, replay, discard."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from kombu import Connection
from kombu.message import Message

from shared.messaging.consumer import (
    ATTEMPT_HEADER,
    DUE_HEADER,
    ERROR_HEADER,
    FAILED_AT_HEADER,
    letter_id,
)
from shared.messaging.publisher import OutgoingMessage, make_publisher
from shared.messaging.topology import DEFAULT_EXCHANGE, Topology


@dataclass(frozen=True)
class DeadLetter:
    event_id: str
    event_type: str
    subject: str
    error: str
    failed_at: str
    attempts: int
    envelope: Any

    def summary(self) -> dict[str, Any]:
        return {
            "event_id": self.event_id,
            "type": self.event_type,
            "subject": self.subject,
            "attempts": self.attempts,
            "failed_at": self.failed_at,
            "error": self.error,
        }


def _read(message: Message) -> DeadLetter:
    headers = dict(message.headers or {})
    try:
        envelope: Any = json.loads(message.body)
    except (ValueError, TypeError):
        envelope = (
            message.body.decode("utf-8", "replace")
            if isinstance(message.body, bytes)
            else message.body
        )
    fields = envelope if isinstance(envelope, dict) else {}
    return DeadLetter(
        event_id=letter_id(message, envelope),
        event_type=str(fields.get("type", "?")),
        subject=str(fields.get("subject", "?")),
        error=str(headers.get(ERROR_HEADER, "")),
        failed_at=str(headers.get(FAILED_AT_HEADER, "")),
        attempts=int(headers.get(ATTEMPT_HEADER, 0)),
        envelope=envelope,
    )


class DeadLetterQueue:
    """Reads messages without losing them: everything not replayed is returned on close."""

    def __init__(
        self,
        connection: Connection,
        topology: Topology,
        service: str,
        *,
        confirm_timeout: float = 10,
    ) -> None:
        self.connection = connection
        self.topology = topology
        self.service = service
        self.confirm_timeout = confirm_timeout
        topology.declare(connection)

    def _drain(self, channel: Any, limit: int | None = None) -> list[Message]:
        """Every letter (or the first ``limit``), held unacknowledged on ``channel``: closing it
        puts back whatever was not acknowledged."""
        queue = self.topology.dead_letter_queue(self.service).bind(channel)
        messages: list[Message] = []
        while limit is None or len(messages) < limit:
            message = queue.get(no_ack=False)
            if message is None:
                break
            messages.append(message)
        return messages

    def list(self, limit: int | None = None) -> list[DeadLetter]:
        """Every letter in the queue, however many (or the first ``limit``)."""
        channel = self.connection.channel()
        try:
            return [_read(message) for message in self._drain(channel, limit)]
        finally:
            channel.close()  # unacknowledged: all go back to the queue

    def show(self, event_id: str) -> DeadLetter | None:
        return next((letter for letter in self.list() if letter.event_id == event_id), None)

    def discard(self, event_id: str) -> DeadLetter | None:
        """Remove one letter that can never succeed; the caller records why (audit, metric)."""
        channel = self.connection.channel()
        try:
            for message in self._drain(channel):
                letter = _read(message)
                if letter.event_id == event_id:
                    message.ack()
                    return letter
            return None
        finally:
            channel.close()

    def replay(self, event_ids: Iterable[str] | None = None, limit: int | None = None) -> list[str]:
        """Send dead letters back to the service's queue with a fresh retry budget."""
        wanted = set(event_ids) if event_ids is not None else None
        channel = self.connection.channel()
        publisher = make_publisher(self.connection, self.confirm_timeout)
        replayed: list[str] = []
        try:
            chosen = []
            for message in self._drain(channel, limit):
                letter = _read(message)
                if wanted is None or letter.event_id in wanted:
                    chosen.append((message, letter))
            for message, letter in chosen:
                headers = {
                    key: value
                    for key, value in dict(message.headers or {}).items()
                    if key not in (ATTEMPT_HEADER, DUE_HEADER, ERROR_HEADER, FAILED_AT_HEADER)
                }
                outcome = publisher.publish(
                    [
                        OutgoingMessage(
                            key=letter.event_id,
                            message_id=letter.event_id,
                            exchange=DEFAULT_EXCHANGE,
                            routing_key=self.topology.queue_name(self.service),
                            body=message.body
                            if isinstance(message.body, bytes)
                            else str(message.body).encode(),
                            headers=headers,
                        )
                    ]
                )
                if outcome.confirmed:
                    message.ack()
                    replayed.append(letter.event_id)
        finally:
            publisher.close()
            channel.close()
        return replayed
