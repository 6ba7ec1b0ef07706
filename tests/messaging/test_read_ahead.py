"""Reading an archive ahead in a thread: chunks in the archive's order, the reader's errors
raised in the caller, and leaving early closes the source (a stream's connection)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from shared.messaging.read_ahead import ReadAhead


def test_chunks_come_in_order_decoded_with_the_last_one_short() -> None:
    with ReadAhead(range(23), lambda n: n * 10, 5) as chunks:
        got = list(chunks)
    assert [len(chunk) for chunk in got] == [5, 5, 5, 5, 3]
    assert [n for chunk in got for n in chunk] == [n * 10 for n in range(23)]


def test_an_error_while_reading_is_raised_in_the_caller_after_the_chunks_before_it() -> None:
    def messages() -> Iterator[int]:
        yield from range(4)
        raise ConnectionError("broker gone")

    got: list[list[int]] = []
    with ReadAhead(messages(), lambda n: n, 2) as chunks, pytest.raises(ConnectionError):
        for chunk in chunks:
            got.append(chunk)
    assert got == [[0, 1], [2, 3]]


def test_leaving_early_stops_the_reader_and_closes_its_source() -> None:
    closed: list[bool] = []

    def endless() -> Iterator[int]:
        n = 0
        try:
            while True:
                yield n
                n += 1
        finally:
            closed.append(True)

    with ReadAhead(endless(), lambda n: n, 3) as chunks:
        first = next(iter(chunks))
    assert first == [0, 1, 2]
    assert closed == [True]
