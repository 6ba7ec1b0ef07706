"""The event archive: every event published on the exchange, in order, each with an offset, so a
read model can be thrown away and replayed and a new consumer backfilled from the start.

- RabbitMQ: a stream queue (``x-queue-type: stream``) bound to the exchange with ``#`` and
  retention by age and size (``topology.py``). The broker appends each event as it routes it to
  the services' queues, so nothing a queue holds is missing from the stream.
- Embedded default: an append-only folder of JSON-lines segments. The publishing side writes it
  (``EmbeddedPublisher``), under a lock and before the event's queue files, so the same holds:
  an event any consumer can see is already archived, and an event is only marked sent in its
  outbox once archived (a crash in between republishes it; readers skip the repeat by event id).

Both are read the same way: ``read(start, until=end_mark())``. An end mark is the archive's end
at one moment: the next offset of the folder, or a marker message published into the stream
(streams tell no AMQP 0.9.1 client where they end); readers skip markers.
"""

from __future__ import annotations

import collections
import contextlib
import fcntl
import json
import os
import re
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Protocol

from kombu import Connection

if TYPE_CHECKING:
    from shared.config import Settings
    from shared.messaging.topology import Topology

#: Header of the marker messages end marks publish into the stream (never a CloudEvent).
MARK_HEADER = "x-casehub-archive-mark"
#: The header RabbitMQ puts on every message read from a stream: its offset.
OFFSET_HEADER = "x-stream-offset"
#: Messages a stream consumer may hold unacknowledged (a stream consumer must set a prefetch).
STREAM_PREFETCH = 2000
#: A reader acknowledges (the broker's credit back) every this many messages, not each one: an
#: ack per message was a quarter of a bare read's time. Below the prefetch, so credit never runs out.
STREAM_ACK_EVERY = STREAM_PREFETCH // 4
#: Size at which the folder archive starts a new segment (retention removes whole segments).
SEGMENT_BYTES = 16 * 1024 * 1024

Start = int | datetime | Literal["first"]

_AGE = re.compile(r"^(\d+)([YMDhms])$")
_AGE_UNITS = {
    "Y": timedelta(days=365),
    "M": timedelta(days=30),
    "D": timedelta(days=1),
    "h": timedelta(hours=1),
    "m": timedelta(minutes=1),
    "s": timedelta(seconds=1),
}


def max_age(text: str) -> timedelta:
    """A retention age in RabbitMQ's ``x-max-age`` form (``7Y``, ``18M``, ``400D``, ``12h``)."""
    found = _AGE.match(text.strip())
    if not found or int(found.group(1)) <= 0:
        raise ValueError(
            f"an archive age is a positive number and one of Y M D h m s (e.g. 7Y), got {text!r}"
        )
    return int(found.group(1)) * _AGE_UNITS[found.group(2)]


def parse_start(text: str) -> Start:
    """``first``, an offset, or an ISO 8601 time (events archived from then on)."""
    text = text.strip()
    if text == "first":
        return "first"
    if text.isdigit():
        return int(text)
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(
            f"--from takes first, an offset or an ISO 8601 time, got {text!r}"
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


@dataclass(frozen=True)
class ArchivedMessage:
    offset: int
    routing_key: str
    #: The message as published: a CloudEvent in structured JSON.
    body: bytes


class EventArchive(Protocol):
    def end_mark(self) -> str:
        """The archive's end now: reading ``until`` it stops after every event archived so far."""
        ...

    def holds_events(self) -> bool:
        """Whether any event is kept (a rebuild refuses to empty a read model from nothing)."""
        ...

    def read(self, start: Start = "first", until: str | None = None) -> Iterator[ArchivedMessage]:
        """Events in archive order from ``start`` (an offset before the oldest kept one starts at
        the oldest), up to ``until`` or, without it, up to the end as it is when reading begins."""
        ...


class FolderArchive:
    """Append-only JSON-lines segments named by their first offset, one line per event:
    ``{"offset": n, "archived_at": ..., "routing_key": ..., "event": {...}}``.

    Writers of several processes append under an exclusive lock; each writer finds the next
    offset by counting the lines other writers added since its last look. A line cut short by a
    writer that died mid-write is removed by the next writer; readers stop before it."""

    def __init__(
        self,
        folder: Path,
        *,
        max_age: timedelta | None = None,
        max_bytes: int | None = None,
        segment_bytes: int = SEGMENT_BYTES,
    ) -> None:
        self.folder = folder
        self.max_age = max_age
        self.max_bytes = max_bytes
        self.segment_bytes = segment_bytes
        self._known: tuple[str, int, int] | None = None  # segment name, its size, next offset
        self._lock = threading.Lock()

    def _segments(self) -> list[Path]:
        if not self.folder.is_dir():
            return []
        return sorted(path for path in self.folder.iterdir() if path.name.endswith(".jsonl"))

    @staticmethod
    def _first_offset(segment: Path) -> int:
        return int(segment.name.split(".")[0])

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        self.folder.mkdir(parents=True, exist_ok=True)
        with self._lock, open(self.folder / ".lock", "a+b") as handle:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle.fileno(), fcntl.LOCK_UN)

    def _tail(self) -> tuple[Path | None, int]:
        """The segment being written and the next offset (call with the lock held)."""
        segments = self._segments()
        if not segments:
            return None, 0
        last = segments[-1]
        size = last.stat().st_size
        known = self._known
        with open(last, "r+b") as handle:
            if known and known[0] == last.name and known[1] <= size:
                handle.seek(known[1])
                added = handle.read()
                next_offset = known[2] + added.count(b"\n")
            else:
                added = handle.read()
                next_offset = self._first_offset(last) + added.count(b"\n")
            if added and not added.endswith(b"\n"):  # a writer died mid-line: drop the part
                size -= len(added) - (added.rfind(b"\n") + 1)
                handle.truncate(size)
        self._known = (last.name, size, next_offset)
        return last, next_offset

    def end(self) -> int:
        """The offset the next event will get."""
        with self._locked():
            return self._tail()[1]

    def end_mark(self) -> str:
        return str(self.end())

    def holds_events(self) -> bool:
        return any(True for _ in self.read("first"))

    def append(self, messages: Sequence[tuple[str, bytes]]) -> list[int]:
        """Archive ``(routing_key, body)`` pairs in order, durably (fsync); their offsets."""
        if not messages:
            return []
        archived_at = datetime.now(UTC).isoformat()
        with self._locked():
            segment, offset = self._tail()
            if segment is None or segment.stat().st_size >= self.segment_bytes:
                segment = self.folder / f"{offset:020d}.jsonl"
                self._remove_expired(keep=segment)
            lines, offsets = [], []
            for routing_key, body in messages:
                lines.append(_line(offset, archived_at, routing_key, body))
                offsets.append(offset)
                offset += 1
            data = b"".join(lines)
            with open(segment, "ab") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            self._known = (segment.name, segment.stat().st_size, offset)
        return offsets

    def _remove_expired(self, keep: Path) -> None:
        """Whole closed segments go, oldest first, while the archive is over its size or the
        segment's newest event is older than the age (RabbitMQ streams do the same)."""
        closed = [segment for segment in self._segments() if segment != keep]
        sizes = {segment: segment.stat().st_size for segment in closed}
        total = sum(sizes.values())
        cutoff = time.time() - self.max_age.total_seconds() if self.max_age else None
        for segment in closed:
            too_big = self.max_bytes is not None and total > self.max_bytes
            too_old = cutoff is not None and segment.stat().st_mtime < cutoff
            if not (too_big or too_old):
                break
            segment.unlink()
            total -= sizes[segment]

    def read(self, start: Start = "first", until: str | None = None) -> Iterator[ArchivedMessage]:
        end = int(until) if until is not None else self.end()
        segments = self._segments()
        if isinstance(start, int):
            earlier = [s for s in segments if self._first_offset(s) <= start]
            if earlier:
                segments = segments[segments.index(earlier[-1]) :]
        elif isinstance(start, datetime):
            newer = [s for s in segments if s.stat().st_mtime >= start.timestamp()]
            segments = newer
        for segment in segments:
            offset = self._first_offset(segment)
            if offset >= end:
                return
            with contextlib.suppress(FileNotFoundError), open(segment, "rb") as handle:
                for line in handle:
                    if not line.endswith(b"\n") or offset >= end:
                        return
                    record, body = _record(line)
                    offset = record["offset"] + 1
                    if isinstance(start, int) and record["offset"] < start:
                        continue
                    if isinstance(start, datetime) and (
                        datetime.fromisoformat(record["archived_at"]) < start
                    ):
                        continue
                    yield ArchivedMessage(record["offset"], record["routing_key"], body)


_EVENT = b', "event": '


def _line(offset: int, archived_at: str, routing_key: str, body: bytes) -> bytes:
    """One JSON line; the event is spliced in as published (compact JSON has no raw newline)."""
    head = json.dumps({"offset": offset, "archived_at": archived_at, "routing_key": routing_key})
    try:
        json.loads(body)
        valid = b"\n" not in body
    except ValueError:
        valid = False
    if valid:
        return head[:-1].encode() + b', "event": ' + body + b"}\n"
    text = body.decode("utf-8", "replace")
    return (head[:-1] + ', "body": ' + json.dumps(text) + "}\n").encode()


def _record(line: bytes) -> tuple[dict[str, Any], bytes]:
    """A line's offset, time and key, and the event's bytes as published (sliced, not re-encoded)."""
    head, found, rest = line.partition(_EVENT)
    if found:
        return json.loads(head + b"}"), rest[:-2]
    record = json.loads(line)
    return record, str(record["body"]).encode()


class StreamArchive:
    """A RabbitMQ stream read over AMQP 0.9.1: ``basic.qos`` (required on a stream), a consumer
    with ``x-stream-offset``, manual acks in groups; every delivery carries its offset in a header."""

    def __init__(
        self, connection_factory: Callable[[], Connection], queue: str, confirm_timeout: float
    ) -> None:
        self._connection_factory = connection_factory
        self.queue = queue
        self._confirm_timeout = confirm_timeout

    def end_mark(self) -> str:
        """Publish a marker straight into the stream (default exchange, confirmed): everything
        routed to the stream before it comes before it."""
        from shared.messaging.publisher import OutgoingMessage, make_publisher

        mark = str(uuid.uuid4())
        connection = self._connection_factory()
        try:
            publisher = make_publisher(connection, self._confirm_timeout)
            outcome = publisher.publish(
                [
                    OutgoingMessage(
                        key=mark,
                        message_id=mark,
                        exchange="",
                        routing_key=self.queue,
                        body=json.dumps({"casehub_archive_mark": mark}).encode(),
                        headers={MARK_HEADER: mark},
                    )
                ]
            )
            publisher.close()
        finally:
            connection.release()
        if outcome.unroutable:
            raise LookupError(
                f"the archive stream {self.queue} does not exist yet: a worker declares it at start"
            )
        if outcome.confirmed != [mark]:
            raise ConnectionError(f"the archive stream {self.queue} did not take the end mark")
        return mark

    def holds_events(self) -> bool:
        """Reads at most one event (after publishing an end mark, so it never waits)."""
        return any(True for _ in self.read("first"))

    def read(self, start: Start = "first", until: str | None = None) -> Iterator[ArchivedMessage]:
        until = until or self.end_mark()
        connection = self._connection_factory()
        received: collections.deque[Any] = collections.deque()
        try:
            channel = connection.channel()
            channel.basic_qos(0, STREAM_PREFETCH, False)
            channel.basic_consume(
                self.queue,
                no_ack=False,
                callback=received.append,
                arguments={OFFSET_HEADER: start},
            )
            unacknowledged = 0
            while True:
                if not received:
                    try:
                        connection.drain_events(timeout=1.0)
                    except TimeoutError:
                        connection.heartbeat_check()
                    continue
                message = received.popleft()
                headers = message.properties.get("application_headers") or {}
                if headers.get(MARK_HEADER) is None:
                    yield ArchivedMessage(
                        int(headers[OFFSET_HEADER]),
                        message.delivery_info.get("routing_key", ""),
                        _as_bytes(message.body),
                    )
                elif headers[MARK_HEADER] == until:
                    return
                unacknowledged += 1
                if unacknowledged >= STREAM_ACK_EVERY:
                    channel.basic_ack(message.delivery_tag, multiple=True)
                    connection.heartbeat_check()
                    unacknowledged = 0
        finally:
            with contextlib.suppress(Exception):
                connection.release()


def _as_bytes(body: bytes | str) -> bytes:
    """py-amqp hands the body decoded when the message names its content encoding."""
    return body.encode() if isinstance(body, str) else bytes(body)


def open_archive(
    settings: Settings, topology: Topology, connection_factory: Callable[[], Connection]
) -> EventArchive:
    """The archive of the platform's exchange: its stream on RabbitMQ, its folder embedded."""
    if settings.uses_embedded_broker:
        return FolderArchive(
            archive_folder(settings.broker_folder, topology.exchange_name),
            max_age=max_age(settings.archive_max_age),
            max_bytes=settings.archive_max_bytes,
        )
    return StreamArchive(connection_factory, topology.archive_name, settings.confirm_timeout)


def archive_folder(broker_folder: Path, exchange: str) -> Path:
    """One folder per exchange, as there is one stream per exchange (its queue prefix)."""
    return broker_folder.resolve() / "archive" / exchange
