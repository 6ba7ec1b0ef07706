"""The embedded transport: kombu's ``filesystem://`` made safe against a consumer crash.

kombu's filesystem channel moves a message file out of the queue folder when it is read, so a
consumer killed between reading and acknowledging would lose it. Here a read message is moved
into an in-flight folder owned by this process; an ack deletes it, a requeue or a channel close
moves it back, and a process starting up returns the in-flight files of dead processes to their
queues. That gives the same at-least-once delivery as RabbitMQ; the inbox removes duplicates.
"""

from __future__ import annotations

import fcntl
import os
import threading
import time
from contextlib import suppress
from datetime import timedelta
from pathlib import Path
from queue import Empty
from typing import Any

from kombu.transport import filesystem
from kombu.utils.encoding import bytes_to_str, str_to_bytes
from kombu.utils.json import dumps, loads

INFLIGHT = "inflight"
_sequence = 0
_sequence_lock = threading.Lock()
UNREADABLE_AFTER_SECONDS = 5.0


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def recover_orphaned_messages(broker_folder: Path) -> int:
    """Return messages read by processes that died before acknowledging them; count them."""
    inflight_root = broker_folder / INFLIGHT
    queue_folder = broker_folder / "queue"
    restored = 0
    if not inflight_root.is_dir():
        return 0
    for owner in inflight_root.iterdir():
        if not owner.name.isdigit() or _pid_alive(int(owner.name)):
            continue
        for message_file in sorted(owner.iterdir()):
            with suppress(FileNotFoundError):
                os.rename(message_file, queue_folder / message_file.name)
                restored += 1
        with suppress(OSError):
            owner.rmdir()
    return restored


class CrashSafeChannel(filesystem.Channel):
    """A filesystem channel whose unacknowledged messages survive the death of the process."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._inflight_files: dict[str, Path] = {}

    @property
    def _inflight_folder(self) -> Path:
        folder = Path(self.transport_options["inflight_folder"]) / str(os.getpid())
        folder.mkdir(parents=True, exist_ok=True)
        return folder

    def _get(self, queue: str) -> dict[str, Any]:
        wanted = f"{queue}.msg"
        inflight = self._inflight_folder
        for filename in sorted(os.listdir(self.data_folder_in)):
            if filename.partition(".")[2] != wanted:
                continue
            target = inflight / filename
            try:
                os.rename(os.path.join(self.data_folder_in, filename), target)
            except OSError:
                continue  # another consumer took it first
            payload = self._read_complete(target)
            if payload is None:
                continue
            self._inflight_files[payload["properties"]["delivery_tag"]] = target
            return payload
        raise Empty()

    def _read_complete(self, path: Path) -> dict[str, Any] | None:
        """Read a message file once its writer is done (the writer holds an exclusive lock).

        A file caught between its creation and its writer's lock is put back for the next poll;
        one that is still unreadable after a while is set aside, never silently dropped.
        """
        with path.open("rb") as handle:
            fcntl.flock(handle.fileno(), fcntl.LOCK_SH)
            try:
                raw = handle.read()
            finally:
                fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
        try:
            return loads(bytes_to_str(raw))
        except ValueError:
            if time.time() - path.stat().st_mtime < UNREADABLE_AFTER_SECONDS:
                os.rename(path, os.path.join(self.data_folder_in, path.name))
            else:
                unreadable = Path(self.transport_options["inflight_folder"]).parent / "unreadable"
                unreadable.mkdir(exist_ok=True)
                os.rename(path, unreadable / path.name)
            return None

    def _return_to_queue(self, delivery_tag: str) -> None:
        path = self._inflight_files.pop(delivery_tag, None)
        if path is not None:
            with suppress(FileNotFoundError):
                os.rename(path, os.path.join(self.data_folder_in, path.name))

    def _forget(self, delivery_tag: str) -> None:
        path = self._inflight_files.pop(delivery_tag, None)
        if path is not None:
            with suppress(FileNotFoundError):
                path.unlink()

    def _put(self, queue: str, payload: dict[str, Any], **kwargs: Any) -> None:
        """Write a message file whose name sorts in publishing order.

        kombu names files by the millisecond plus a random UUID, so two messages published in the
        same millisecond are read in random order; a nanosecond clock plus a per-process counter
        keeps a subject's events in the order they were sent.
        """
        global _sequence
        with _sequence_lock:
            _sequence += 1
            number = _sequence
        name = f"{time.time_ns():020d}{os.getpid():08d}{number:010d}.{queue}.msg"
        path = os.path.join(self.data_folder_out, name)
        temporary = os.path.join(self.data_folder_out, f".{name}.tmp")
        with open(temporary, "wb") as handle:
            handle.write(str_to_bytes(dumps(payload)))
        os.rename(temporary, path)  # readers never see a half-written message

    def _queue_bind(self, exchange: str, routing_key: str, pattern: str, queue: str) -> None:
        """Add a binding to the exchange's file without ever truncating another process's.

        kombu creates a missing file with ``open("wb")``: two processes declaring at once can
        each truncate the other's bindings, leaving a queue silently unbound.
        """
        path = self._exchange_file(exchange)
        self.control_folder.mkdir(parents=True, exist_ok=True)
        entry = filesystem.exchange_queue_t(routing_key or "", pattern or "", queue or "")
        descriptor = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        with os.fdopen(descriptor, "r+b", buffering=0) as handle:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
            try:
                raw = handle.read()
                bindings = (
                    [filesystem.exchange_queue_t(*item) for item in loads(bytes_to_str(raw))]
                    if raw
                    else []
                )
                if entry not in bindings:
                    bindings.insert(0, entry)
                    handle.seek(0)
                    handle.truncate()
                    handle.write(str_to_bytes(dumps(bindings)))
            finally:
                fcntl.flock(handle.fileno(), fcntl.LOCK_UN)

    def basic_ack(self, delivery_tag: str, multiple: bool = False) -> None:
        super().basic_ack(delivery_tag, multiple)
        self._forget(delivery_tag)

    def basic_reject(self, delivery_tag: str, requeue: bool = False) -> None:
        if requeue:
            self.qos._quick_ack(delivery_tag)
            self._return_to_queue(delivery_tag)
        else:
            super().basic_reject(delivery_tag, requeue=False)
            self._forget(delivery_tag)

    def _restore(self, message: Any) -> None:
        """Called for unacknowledged messages when the channel closes: put the file back as it was."""
        self._return_to_queue(message.delivery_tag)

    def _restore_at_beginning(self, message: Any) -> None:
        self._return_to_queue(message.delivery_tag)


class Transport(filesystem.Transport):
    Channel = CrashSafeChannel
    driver_type = "filesystem"
    driver_name = "casehub-filesystem"


def embedded_transport_options(
    broker_folder: Path,
    polling_interval: float,
    *,
    archive_max_age: timedelta | None = None,
    archive_max_bytes: int | None = None,
) -> dict[str, Any]:
    """Folders for the embedded transport: one absolute directory that every process shares,
    with the event archive's folder and retention (``shared.messaging.archive``)."""
    broker_folder = broker_folder.resolve()
    queue_folder = broker_folder / "queue"
    for folder in (queue_folder, broker_folder / "control", broker_folder / INFLIGHT):
        folder.mkdir(parents=True, exist_ok=True)
    return {
        "data_folder_in": str(queue_folder),
        "data_folder_out": str(queue_folder),
        "control_folder": str(broker_folder / "control"),
        "inflight_folder": str(broker_folder / INFLIGHT),
        "store_processed": False,
        "polling_interval": polling_interval,
        "archive_root": str(broker_folder),
        "archive_max_age": archive_max_age,
        "archive_max_bytes": archive_max_bytes,
    }
