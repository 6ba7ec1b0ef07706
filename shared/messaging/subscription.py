"""What a service does with an event it subscribes to: a handler for one event, and optionally a
hook for several consecutive events of the same type, handled together in one transaction."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from typing import Any

from shared import context
from shared.contracts import Event
from shared.unit_of_work import UnitOfWork

Handler = Callable[[Event, UnitOfWork], None]
BatchHandler = Callable[[Sequence[Event], UnitOfWork], None]


@dataclass(frozen=True)
class Subscription:
    """A handler with a batch hook: ``batch(events, uow)`` must leave what ``handler`` would leave
    called on each event in turn (a repeated consent id: the first one counts), only with fewer
    round trips, e.g. one query for the rows the events name and one insert for the new ones.

    The consumer calls the hook with the consecutive events of this type in a batch, so effects
    keep the order of the events; a hook that raises has the whole batch redone one event at a
    time with ``handler``, which tells whose event failed. The hook runs outside any one event's
    context: events it publishes must be raised inside ``handling(event)``."""

    handler: Callable[..., None]
    batch: Callable[..., None]

    def __call__(self, event: Event, uow: UnitOfWork, **options: Any) -> None:
        self.handler(event, uow, **options)

    def bind(self, **options: Any) -> Subscription:
        """Both callables with the same keyword arguments (the service's settings, its clock)."""
        return Subscription(partial(self.handler, **options), partial(self.batch, **options))


def batch_hook(handler: Callable[..., None] | None) -> BatchHandler | None:
    return handler.batch if isinstance(handler, Subscription) else None


@contextmanager
def handling(event: Event) -> Iterator[None]:
    """Logs and the events published meanwhile name this event as their cause (and carry its
    correlation id and trace)."""
    tokens = (
        context.correlation_id.set(event.correlationid or event.id),
        context.causation_id.set(event.id),
        context.traceparent.set(event.traceparent),
    )
    try:
        yield
    finally:
        context.traceparent.reset(tokens[2])
        context.causation_id.reset(tokens[1])
        context.correlation_id.reset(tokens[0])
