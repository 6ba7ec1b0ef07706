"""The agency's governance tools over every service's public API (never another's database):
one audit CSV merged by time from each service's trail, and the client's privacy export bundle.
``casehub audit …`` and ``casehub privacy …`` (services/governance_cli.py) drive them."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator, Mapping
from datetime import datetime
from typing import Any

import httpx

#: The services that keep an audit trail, in the order their rows are merged on equal times.
AUDITED = ("intake", "planning", "referrals", "notifications", "reporting")
CSV_COLUMNS = (
    "at",
    "service",
    "emergency",
    "actor",
    "roles",
    "action",
    "entity",
    "entity_id",
    "client_id",
    "purpose",
    "correlation_id",
    "detail",
)


class GovernanceError(Exception):
    """A service refused or could not be reached; the message says which and why."""


def _get(client: httpx.Client, service: str, path: str, **params: Any) -> Any:
    try:
        response = client.get(path, params={k: v for k, v in params.items() if v is not None})
    except httpx.HTTPError as error:
        raise GovernanceError(f"{service} did not answer ({type(error).__name__})") from None
    if response.status_code >= 400:
        try:
            detail = response.json().get("detail")
        except ValueError:
            detail = response.reason_phrase
        raise GovernanceError(f"{service} answered {response.status_code}: {detail}")
    return response.json()


def pages(client: httpx.Client, service: str, path: str, **params: Any) -> Iterator[Any]:
    """Every item of a paged list, following ``next_cursor``."""
    cursor = None
    while True:
        page = _get(client, service, path, limit=200, cursor=cursor, **params)
        yield from page["items"]
        cursor = page.get("next_cursor")
        if not cursor:
            return


def resolve_client(intake: httpx.Client, client: str) -> dict[str, Any]:
    """A client by reference (``C-1042``) or id, as intake knows them."""
    if client.upper().startswith("C-"):
        found = _get(intake, "intake", "/clients", reference=client.upper(), limit=1)["items"]
        if not found:
            raise GovernanceError(f"intake has no client {client}")
        return dict(found[0])
    return dict(_get(intake, "intake", f"/clients/{client}"))


def merged_audit(
    clients: Mapping[str, httpx.Client],
    client_id: str,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
) -> list[dict[str, Any]]:
    """The client's rows from every service's ``GET /audit``, one list ordered by time."""
    rows: list[dict[str, Any]] = []
    window = {
        "from": since.isoformat() if since else None,
        "to": until.isoformat() if until else None,
    }
    for order, service in enumerate(AUDITED):
        if service not in clients:
            continue
        for row in pages(clients[service], service, "/audit", client_id=client_id, **window):
            rows.append({**row, "service": service, "_order": order})
    rows.sort(key=lambda row: (datetime.fromisoformat(row["at"]), row["_order"], row["id"]))
    return rows


def audit_csv(rows: list[dict[str, Any]]) -> str:
    """One CSV line per row; emergency access reads and grants say EMERGENCY in their column."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    for row in rows:
        writer.writerow(
            [
                row["at"],
                row["service"],
                "EMERGENCY" if row.get("emergency") else "",
                row["actor"],
                " ".join(row.get("roles") or []),
                row["action"],
                row["entity"],
                row.get("entity_id") or "",
                row.get("client_id") or "",
                row.get("purpose") or "",
                row.get("correlation_id") or "",
                json.dumps(row.get("detail") or {}, sort_keys=True),
            ]
        )
    return out.getvalue()


#: The services whose export endpoint makes up a client's access-request bundle.
HOLDING_CLIENT_DATA = ("intake", "planning", "referrals", "notifications")


def privacy_bundle(clients: Mapping[str, httpx.Client], client_id: str) -> dict[str, Any]:
    """Each service's own export of the client (``GET /privacy/clients/{id}/export``)."""
    return {
        service: _get(clients[service], service, f"/privacy/clients/{client_id}/export")
        for service in HOLDING_CLIENT_DATA
        if service in clients
    }


def bundle_html(bundle: Mapping[str, Any], reference: str) -> str:
    """The bundle as a readable document: one section per service, one table per kind of row."""
    from jinja2 import Environment

    template = Environment(autoescape=True).from_string(
        """<!doctype html><html><head><meta charset="utf-8"><title>Record of {{ reference }}</title>
<style>body{font-family:sans-serif;font-size:9pt}table{border-collapse:collapse;margin:0 0 1em}
td,th{border:1px solid #999;padding:2px 4px;vertical-align:top;text-align:left}</style></head>
<body><h1>Everything Casehub holds about client {{ reference }}</h1>
<p>One section per service. Produced for the client's access request.</p>
{% for service, part in bundle.items() %}<h2>{{ service }}</h2>
{% for table, rows in part.tables.items() %}<h3>{{ table | replace('_', ' ') }}</h3>
{% for row in rows %}<table>{% for key, value in row.items() %}<tr><th>{{ key | replace('_', ' ') }}</th>
<td>{{ value if value is string else (value | tojson) }}</td></tr>{% endfor %}</table>{% endfor %}
{% else %}<p>Nothing held.</p>{% endfor %}{% endfor %}</body></html>"""
    )
    return template.render(bundle=bundle, reference=reference)


def bundle_pdf(bundle: Mapping[str, Any], reference: str) -> bytes:
    from weasyprint import HTML

    return bytes(HTML(string=bundle_html(bundle, reference)).write_pdf())
