"""A client's casework as the client record screen shows it: plans, contacts and appointments read
in one request (the screen made three calls for them, each paying the request's fixed cost).
Each part keeps the access rule and the audit of the list it stands for."""

from __future__ import annotations

from dataclasses import dataclass

from services.planning.models import AUDIT, Appointment, Contact, Plan
from services.planning.operations.appointments import appointments_page
from services.planning.operations.casework_access import readable_episodes
from services.planning.operations.contacts import contacts_page
from services.planning.operations.reading import list_plans
from shared.errors import NotFound
from shared.identity import Principal
from shared.pagination import Page
from shared.unit_of_work import UnitOfWork


@dataclass(frozen=True)
class ClientCasework:
    """First pages; a ``next_cursor`` continues at the list's own endpoint. Contacts and
    appointments are None when the caller sees plans of the client but may read none of its
    episodes' casework (as ``GET /clients/{id}/contacts`` would answer 404)."""

    plans: Page[Plan]
    contacts: Page[Contact] | None
    appointments: Page[Appointment] | None


def read_client_casework(
    uow: UnitOfWork, actor: Principal, client_id: str, *, limit: int
) -> ClientCasework:
    """404 when the caller sees neither a plan nor an episode of the client."""
    plans = list_plans(uow, actor, client_id=client_id, status=None, limit=limit, cursor=None)
    try:
        episodes = readable_episodes(uow, actor, client_id)
    except NotFound:
        if not plans.items:
            raise
        return ClientCasework(plans=plans, contacts=None, appointments=None)
    for kind in ("contacts", "appointments"):
        AUDIT.record(uow.session, actor, "read", kind, None, client_id, via="casework")
    return ClientCasework(
        plans=plans,
        contacts=contacts_page(uow, client_id, episodes, limit=limit, cursor=None),
        appointments=appointments_page(uow, client_id, episodes, limit=limit, cursor=None),
    )
