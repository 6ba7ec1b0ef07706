"""A draft referral before it is sent: its service (a draft from a plan may still need one) and
its packet, limited to what the client consents to share."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from services.referrals import domain
from services.referrals.models import AUDIT, Referral, Service
from services.referrals.operations.access import consented_categories, load_referral
from shared.clock import agency_date
from shared.errors import Conflict, Unprocessable
from shared.identity import Principal
from shared.unit_of_work import UnitOfWork


def change_draft(
    uow: UnitOfWork, actor: Principal, referral_id: str, values: Mapping[str, Any], now: datetime
) -> Referral:
    """A draft's service (one from a plan may still need one) and packet: only the categories
    the client consents to share with the organisation now, so nothing else is ever offered."""
    referral = load_referral(uow, actor, referral_id, for_update=True)
    if referral.status != domain.ReferralStatus.DRAFT:
        raise Conflict("Only a draft referral can change.", current_status=referral.status)
    if "service_id" in values:
        service = uow.session.get(Service, values["service_id"])
        if service is None:
            raise Unprocessable("service_id", "no such service in the directory")
        referral.service_id, referral.organization_id = service.id, service.organization_id
    if "packet" in values:
        if referral.organization_id is None:
            raise Unprocessable("packet", "choose the service first: consent is per organisation")
        shareable = (
            consented_categories(
                uow, referral.client_id, referral.organization_id, agency_date(now)
            )
            or set()
        )
        refused = sorted(set(values["packet"]) - shareable)
        if refused:
            raise Unprocessable(
                "packet",
                f"the client does not consent to share {', '.join(refused)} with "
                f"{referral.organization_id}",
            )
        referral.packet = dict(values["packet"])
    referral.updated_at = now
    AUDIT.record(
        uow.session,
        actor,
        "update",
        "referral",
        referral.id,
        referral.client_id,
        fields=sorted(values),
    )
    return referral
