"""Reading and decoding the next chunk of an archive in a thread while the caller writes this one.

A replay spends its time in two places: reading and decoding messages (socket waits, JSON,
contract validation) and writing chunks (mostly waiting for the database). Done one after the
other, each waits for the other; with the reading in a thread, the decoding of chunk n + 1 runs
while chunk n waits on the database. Order is kept: chunks come out as the archive gave them,
at most ``ahead`` chunks are held, and an error in the reader is raised in the caller.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterable, Iterator
from typing import Generic, TypeVar

Message = TypeVar("Message")
Decoded = TypeVar("Decoded")

_END = object()


class ReadAhead(Generic[Message, Decoded]):
    """``for chunk in ReadAhead(messages, decode, size): ...`` — lists of ``decode(message)``;
    leaving the loop early (``close``, or the ``with`` block) stops the reader and closes its
    source, so a stream's connection is released."""

    def __init__(
        self,
        messages: Iterable[Message],
        decode: Callable[[Message], Decoded],
        size: int,
        *,
        ahead: int = 2,
    ) -> None:
        self._messages = messages
        self._decode = decode
        self._size = size
        self._chunks: queue.Queue[object] = queue.Queue(maxsize=ahead)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._read, name="archive-read-ahead", daemon=True)
        self._thread.start()

    def _put(self, item: object) -> bool:
        while not self._stop.is_set():
            try:
                self._chunks.put(item, timeout=0.2)
                return True
            except queue.Full:
                continue
        return False

    def _read(self) -> None:
        source = iter(self._messages)
        try:
            chunk: list[Decoded] = []
            for message in source:
                if self._stop.is_set():
                    return
                chunk.append(self._decode(message))
                if len(chunk) >= self._size:
                    if not self._put(chunk):
                        return
                    chunk = []
            if chunk and not self._put(chunk):
                return
            self._put(_END)
        except BaseException as error:  # handed to the caller, raised there
            self._put(error)
        finally:
            close = getattr(source, "close", None)
            if close is not None:
                close()

    def __iter__(self) -> Iterator[list[Decoded]]:
        while True:
            item = self._chunks.get()
            if item is _END:
                return
            if isinstance(item, BaseException):
                raise item
            yield item  # type: ignore[misc]

    def close(self) -> None:
        self._stop.set()
        self._thread.join()

    def __enter__(self) -> ReadAhead[Message, Decoded]:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
