"""志愿服务证明: issued from approved hours as a snapshot, verified by number, revoked (never deleted)."""

from __future__ import annotations

import re
import secrets
import uuid
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from backend.accounts.models import Role, RoleGrant, User
from backend.accounts.scoping import can_act_on_community, get_scope
from backend.communities.models import Community
from backend.core import idempotency
from backend.core.errors import DomainError, field_error
from backend.core.events import Audience, emit

from ..models import Certificate, ServiceRecord, Volunteer
from ._common import Status, _blank, _require_staff_of

# Crockford's base32: no I, L, O or U to misread when a number is typed from paper.
NUMBER_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
NUMBER_PREFIX = "ZY"
NUMBER_LENGTH = 16  # 80 random bits: not guessable, not enumerable through the verify endpoint


def _new_certificate_number() -> str:
    return NUMBER_PREFIX + "".join(secrets.choice(NUMBER_ALPHABET) for _ in range(NUMBER_LENGTH))


def normalise_certificate_number(text: str) -> str:
    """As typed from paper: spaces and hyphens dropped, letters upper-case."""
    return re.sub(r"[\s\-]", "", text or "").upper()


def _day_start(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=timezone.get_default_timezone())


def _summary(contents: list[str], limit: int = 200) -> str:
    distinct = list(dict.fromkeys(text.strip() for text in contents if text.strip()))
    text = "、".join(distinct)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _secretary_name(community_id: int) -> str:
    grant = (
        RoleGrant.objects.filter(community_id=community_id, role=Role.COMMUNITY_SECRETARY, revoked_at__isnull=True)
        .select_related("user")
        .order_by("id")
        .first()
    )
    return grant.user.real_name if grant is not None else ""


def _issuing_community(by: User, community: Community | None) -> Community:
    """The community a certificate is issued in the name of: the one asked for, else the issuer's only one.

    Someone who is staff nowhere hears 403 whether or not they named a community.
    """
    if community is not None:
        if not can_act_on_community(by, community.pk):
            raise DomainError("permission_denied", _("只能以本社区名义出具证明"))
        return community
    scope = get_scope(by)
    if not scope.is_staff:
        raise DomainError("permission_denied", _("只能以本社区名义出具证明"))
    communities = sorted(scope.community_ids)
    if len(communities) != 1:
        raise field_error("community", _("请指定出具证明的社区"))
    return Community.objects.get(pk=communities[0])


@transaction.atomic
def issue_certificate(
    *,
    volunteer: Volunteer,
    community: Community | None = None,
    by: User,
    period_start: date,
    period_end: date,
    service_summary: str = "",
    person_in_charge: str | None = None,
    handling_officer: str | None = None,
    contact: str | None = None,
    client_id: uuid.UUID | None = None,
    today: date | None = None,
) -> tuple[Certificate, bool]:
    """志愿服务证明 from the community's approved hours of the period, as a snapshot.

    Idempotent on `client_id` (per issuer). A standing certificate for the same volunteer,
    community and period must be revoked before another is issued. Fields left out take their
    defaults here: the community is the issuer's only one, the person in charge its secretary,
    the handling officer and the contact number the issuer's.
    """
    community = _issuing_community(by, community)
    today = today or timezone.localdate()
    if period_end < period_start:
        raise field_error("period_end", _("结束日期不能早于开始日期"))
    if period_end > today:
        raise field_error("period_end", _("服务期间不能晚于今天"))
    volunteer = Volunteer.objects.select_for_update().get(pk=volunteer.pk)
    existing = idempotency.replay(Certificate.objects, issued_by=by, client_id=client_id)
    if existing is not None:
        return existing, False
    if _blank(volunteer.real_name) or not volunteer.has_id_number:
        raise field_error("volunteer", _("该志愿者尚未登记姓名和证件号码, 不能出具证明"))
    standing = Certificate.objects.filter(
        volunteer=volunteer,
        community=community,
        period_start=period_start,
        period_end=period_end,
        revoked_at__isnull=True,
    )
    if standing.exists():
        raise DomainError("conflict", _("该期间已出具证明; 如需重新出具, 请先作废原证明"))
    records = list(
        ServiceRecord.objects.filter(
            volunteer=volunteer,
            community=community,
            status=Status.APPROVED,
            started_at__gte=_day_start(period_start),
            started_at__lt=_day_start(period_end + timedelta(days=1)),
        )
        .order_by("started_at", "id")
        .values("pk", "content", "started_at", "ended_at", "hours")
    )
    if not records:
        raise field_error("period_start", _("该期间内没有审核通过的服务时长"))
    hours = sum((row["hours"] for row in records), Decimal("0.00"))
    community = Community.objects.select_related("street").get(pk=community.pk)
    values = {
        "volunteer": volunteer,
        "community": community,
        "period_start": period_start,
        "period_end": period_end,
        "hours": hours,
        "record_count": len(records),
        "records_snapshot": [
            {
                "id": row["pk"],
                "content": row["content"],
                "started_at": row["started_at"].isoformat(),
                "ended_at": row["ended_at"].isoformat(),
                "hours": str(row["hours"]),
            }
            for row in records
        ],
        "volunteer_name": volunteer.real_name,
        "volunteer_number": volunteer.volunteer_number,
        "id_type": volunteer.id_type,
        "id_number_masked": volunteer.id_number_masked,
        "service_summary": (service_summary or "").strip()[:500] or _summary([row["content"] for row in records]),
        "issuer_name": f"{community.street.name}{community.name}",
        "person_in_charge": (
            person_in_charge.strip() if person_in_charge is not None else _secretary_name(community.pk)
        )[:50],
        "handling_officer": (handling_officer.strip() if handling_officer is not None else by.real_name)[:50],
        "contact": (contact.strip() if contact is not None else by.phone or "")[:50],
        "issued_by": by,
        "client_id": client_id,
    }
    for attempt in range(3):
        try:
            certificate, created = idempotency.insert_once(
                lambda: Certificate.objects.create(number=_new_certificate_number(), **values),
                Certificate.objects,
                issued_by=by,
                client_id=client_id,
            )
            break
        except IntegrityError:
            # 80 random bits make a repeated number all but impossible; never hand out a wrong one.
            if attempt == 2:
                raise
    if not created:
        return certificate, False
    emit(
        event="certificate.issued",
        data={"id": certificate.pk, "number": certificate.number, "hours": str(certificate.hours)},
        audience=Audience.user(volunteer.user_id),
    )
    return certificate, True


@transaction.atomic
def revoke_certificate(*, certificate: Certificate, by: User, reason: str) -> Certificate:
    """作废: the certificate stays on record, and the verify page says it is revoked."""
    certificate = Certificate.objects.select_for_update().get(pk=certificate.pk)
    _require_staff_of(by, certificate.community_id)
    if _blank(reason):
        raise field_error("reason", _("请填写作废原因"))
    if certificate.revoked_at is not None:
        raise DomainError("invalid_transition", _("该证明已作废"))
    certificate.revoked_at = timezone.now()
    certificate.revoked_by = by
    certificate.revoke_reason = reason.strip()[:500]
    certificate.save(update_fields=["revoked_at", "revoked_by", "revoke_reason"])
    emit(
        event="certificate.revoked",
        data={"id": certificate.pk, "number": certificate.number},
        audience=Audience.user(certificate.volunteer.user_id),
    )
    return certificate
