"""``casehub audit verify|export``, ``casehub keys generate|rotate`` and ``casehub privacy export``: the
privacy officer's and operator's commands (registered in services/cli/commands.py)."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime, time
from pathlib import Path

import httpx
from sqlalchemy import MetaData

from services import governance
from services.catalog import runtime_for
from shared.audit import AuditTrail
from shared.config import SERVICE_NAMES, SERVICE_PORTS, Settings

Add = Callable[[str, Callable[[argparse.Namespace], int], str], argparse.ArgumentParser]
#: Who the governance commands act as when no --token is given (audited as such).
OPERATOR = "privacy-officer"


def _moment(text: str) -> datetime:
    """A date (the start of that day, UTC) or an ISO 8601 moment."""
    if len(text) == 10:
        return datetime.combine(date.fromisoformat(text), time(), tzinfo=UTC)
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def api_clients(token: str | None, env: Mapping[str, str] | None = None) -> dict[str, httpx.Client]:
    """One client per service at ``CASEHUB_<SERVICE>_URL`` with an admin bearer token: the one
    given, ``CASEHUB_ADMIN_TOKEN``, or one minted with this machine's signing secret."""
    env = os.environ if env is None else env
    if not token:
        token = env.get("CASEHUB_ADMIN_TOKEN")
    if not token:
        from shared.web.auth import mint_token

        token = mint_token(Settings.from_env("cli"), OPERATOR, ["admin"], ttl_seconds=600)
    return {
        name: httpx.Client(
            base_url=(
                env.get(f"CASEHUB_{name.upper()}_URL") or f"http://127.0.0.1:{SERVICE_PORTS[name]}"
            ),
            headers={"Authorization": f"Bearer {token}", "X-Purpose": "privacy governance"},
            timeout=30,
        )
        for name in SERVICE_NAMES
    }


def cmd_audit(args: argparse.Namespace) -> int:
    if args.action == "verify":
        if not args.service:
            print("audit verify needs a service", file=sys.stderr)
            return 2
        runtime = runtime_for(args.service)
        with runtime.database.read_session() as session:
            result = AuditTrail(MetaData()).verify(session)
        print(json.dumps({"service": args.service, **result.as_dict()}))
        return 0 if result.intact else 1
    if not args.client:
        print("audit export needs --client C-1042 (and optionally --from/--to)", file=sys.stderr)
        return 2
    clients = api_clients(args.token)
    try:
        client = governance.resolve_client(clients["intake"], args.client)
        rows = governance.merged_audit(
            clients,
            client["id"],
            since=_moment(args.since) if args.since else None,
            until=_moment(args.until) if args.until else None,
        )
    except governance.GovernanceError as error:
        print(f"audit export: {error}", file=sys.stderr)
        return 1
    text = governance.audit_csv(rows)
    if args.out:
        Path(args.out).write_text(text)
        print(f"{len(rows)} audit rows of {client['reference']} written to {args.out}")
    else:
        sys.stdout.write(text)
    return 0


def cmd_keys(args: argparse.Namespace) -> int:
    """``generate`` a Fernet key; ``rotate`` a service's encrypted notes to the first key of
    CASEHUB_ENCRYPTION_KEYS, a batch per transaction, while the service keeps running."""
    from shared import crypto

    if args.action == "generate":
        print(crypto.generate_key())
        return 0
    if not args.service:
        print("keys rotate needs a service", file=sys.stderr)
        return 2
    runtime = runtime_for(args.service)
    with runtime.database.engine.connect() as connection:
        done = crypto.rotate_all(connection, runtime.spec.metadata, runtime.keyring)
    for rotation in done:
        print(
            f"{args.service} {rotation.column}: rotated {rotation.rotated}, "
            f"already current {rotation.current}"
        )
    if not done:
        print(f"{args.service} keeps no encrypted notes")
    return 0


def cmd_privacy(args: argparse.Namespace) -> int:
    """The client's access request: each service's own export, as JSON per service and one
    readable PDF, in a folder of the privacy officer's choosing."""
    clients = api_clients(args.token)
    try:
        client = governance.resolve_client(clients["intake"], args.client)
        bundle = governance.privacy_bundle(clients, client["id"])
    except governance.GovernanceError as error:
        print(f"privacy export: {error}", file=sys.stderr)
        return 1
    folder = Path(args.out or f"privacy-export-{client['reference']}")
    folder.mkdir(parents=True, exist_ok=True)
    for service, part in bundle.items():
        (folder / f"{service}.json").write_text(json.dumps(part, indent=2, sort_keys=True))
    (folder / f"{client['reference']}.pdf").write_bytes(
        governance.bundle_pdf(bundle, client["reference"])
    )
    print(f"{client['reference']}: {', '.join(bundle)} exported to {folder}")
    return 0


def register(add: Add) -> None:
    """The governance commands, on the ``casehub`` parser."""
    audit = add("audit", cmd_audit, "verify a service's audit hash chain, or export a client's")
    audit.add_argument("action", choices=("verify", "export"))
    audit.add_argument("service", nargs="?", choices=SERVICE_NAMES)
    audit.add_argument("--client", help="export: the client's reference (C-1042) or id")
    audit.add_argument("--from", dest="since", help="export: from this date or moment (UTC)")
    audit.add_argument("--to", dest="until", help="export: before this date or moment (UTC)")
    audit.add_argument("--out", help="export: write the CSV here instead of stdout")
    audit.add_argument("--token", help="an admin bearer token (default CASEHUB_ADMIN_TOKEN)")
    keys = add("keys", cmd_keys, "generate a note encryption key, or re-encrypt with the first")
    keys.add_argument("action", choices=("generate", "rotate"))
    keys.add_argument("service", nargs="?", choices=SERVICE_NAMES)
    privacy = add("privacy", cmd_privacy, "export a client's whole record (access request)")
    privacy.add_argument("action", choices=("export",))
    privacy.add_argument("--client", required=True, help="the client's reference (C-1042) or id")
    privacy.add_argument("--out", help="the folder to write (default privacy-export-<reference>)")
    privacy.add_argument("--token", help="an admin bearer token (default CASEHUB_ADMIN_TOKEN)")
