"""``casehub dlq``: list, show, replay or discard a service's dead-lettered events."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from services.catalog import runtime_for
from shared.service import ServiceRuntime


def cmd_dlq(args: argparse.Namespace) -> int:
    from shared.messaging.dlq import DeadLetterQueue

    runtime = runtime_for(args.service)
    connection = runtime.connect_broker()
    try:
        queue = DeadLetterQueue(
            connection,
            runtime.topology,
            args.service,
            confirm_timeout=runtime.settings.confirm_timeout,
        )
        if args.action == "list":
            letters = queue.list()
            for letter in letters:
                print(json.dumps(letter.summary()))
            print(
                f"{len(letters)} dead-lettered event(s) in {runtime.topology.dlq_name(args.service)}"
            )
            return 0
        if args.action == "show":
            if not args.event_ids:
                print("dlq show needs an event id", file=sys.stderr)
                return 2
            letter = queue.show(args.event_ids[0])
            if letter is None:
                print(f"no dead letter with id {args.event_ids[0]}", file=sys.stderr)
                return 1
            print(json.dumps({**letter.summary(), "envelope": letter.envelope}, indent=2))
            return 0
        if args.action == "discard":
            return _discard_dead_letter(runtime, queue, args)
        if not args.event_ids and not args.all:
            print("dlq replay needs event ids or --all", file=sys.stderr)
            return 2
        replayed = queue.replay(None if args.all else args.event_ids)
        for event_id in replayed:
            print(f"replayed {event_id}")
        missing = set(args.event_ids) - set(replayed)
        for event_id in sorted(missing):
            print(f"not found: {event_id}", file=sys.stderr)
        print(f"{len(replayed)} event(s) replayed to {runtime.topology.queue_name(args.service)}")
        return 1 if missing else 0
    finally:
        connection.release()


def _discard_dead_letter(runtime: ServiceRuntime, queue: Any, args: argparse.Namespace) -> int:
    """Remove one letter that can never succeed: who, why and what go to the service's audit
    trail and the letter is counted (casehub_dead_letters_discarded_total)."""
    from sqlalchemy import MetaData

    from shared import metrics
    from shared.audit import AuditTrail
    from shared.identity import Principal

    reason = (args.reason or "").strip()
    if len(args.event_ids) != 1 or not reason:
        print("dlq discard needs one letter id and --reason '...'", file=sys.stderr)
        return 2
    letter = queue.discard(args.event_ids[0])
    if letter is None:
        print(f"no dead letter with id {args.event_ids[0]}", file=sys.stderr)
        return 1
    subject = letter.subject if letter.subject.startswith("client/") else ""
    client_id = subject.removeprefix("client/")[:36] or None
    operator = Principal(sub=args.actor[:128], roles=frozenset({"operator"}))
    with runtime.database.session() as session, session.begin():
        AuditTrail(MetaData()).record(
            session,
            operator,
            "dlq.discard",
            "dead_letter",
            letter.event_id if len(letter.event_id) <= 36 else None,
            client_id,
            letter_id=letter.event_id,
            event_type=letter.event_type,
            queue=runtime.topology.dlq_name(args.service),
            reason=reason[:500],
        )
    metrics.DEAD_LETTERS_DISCARDED.labels(args.service, letter.event_type).inc()
    print(json.dumps({"discarded": letter.summary(), "reason": reason}))
    return 0
