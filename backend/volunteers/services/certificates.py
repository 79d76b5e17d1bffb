"""志愿服务证明: issued from approved hours as a snapshot, verified by number, revoked (never deleted)."""

from __future__ import annotations

import re
import secrets
import uuid
from collections.abc import Mapping
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

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


def require_issuer(*, by: User) -> None:
    """Someone who is staff nowhere issues nothing: the API asks this before reading the request."""
    if not get_scope(by).is_staff:
        raise DomainError("permission_denied", _("只能以本社区名义出具证明"))


def _issuing_community(by: User, community: Community | None) -> Community:
    """The community a certificate is issued in the name of: the one asked for, else the issuer's only one.

    Someone who is staff nowhere hears 403 whether or not they named a community.
    """
    if community is not None:
        if not can_act_on_community(by, community.pk):
            raise DomainError("permission_denied", _("只能以本社区名义出具证明"))
        return community
    require_issuer(by=by)
    communities = sorted(get_scope(by).community_ids)
    if len(communities) != 1:
        raise field_error("community", _("请指定出具证明的社区"))
    return Community.objects.get(pk=communities[0])


def _check_period(period_start: date, period_end: date, *, today: date) -> None:
    if period_end < period_start:
        raise field_error("period_end", _("结束日期不能早于开始日期"))
    if period_end > today:
        raise field_error("period_end", _("服务期间不能晚于今天"))


def _approved_rows(
    volunteer: Volunteer, community: Community, period_start: date, period_end: date
) -> list[Mapping[str, Any]]:
    """The volunteer's approved records for the community that started in the period, oldest first."""
    return list(
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


def _snapshot(
    volunteer: Volunteer,
    community: Community,
    period_start: date,
    period_end: date,
    records: list[Mapping[str, Any]],
    *,
    service_summary: str,
) -> dict[str, Any]:
    """What the certificate prints of the volunteer and their hours, fixed at issue."""
    hours = sum((row["hours"] for row in records), Decimal("0.00"))
    return {
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
    }


def _signatories(
    community: Community,
    *,
    by: User,
    person_in_charge: str | None,
    handling_officer: str | None,
    contact: str | None,
) -> dict[str, str]:
    """Who the certificate names as issuing it; what the request leaves out (None) takes its default:
    the issuing organisation is the community under its street, the person in charge the community's
    secretary, the handling officer the issuer, the contact number the issuer's phone."""
    return {
        "issuer_name": f"{community.street.name}{community.name}",
        "person_in_charge": (
            person_in_charge.strip() if person_in_charge is not None else _secretary_name(community.pk)
        )[:50],
        "handling_officer": (handling_officer.strip() if handling_officer is not None else by.real_name)[:50],
        "contact": (contact.strip() if contact is not None else by.phone or "")[:50],
    }


def _insert(values: dict[str, Any], *, by: User, client_id: uuid.UUID | None) -> tuple[Certificate, bool]:
    """The row under a fresh random number, or (on a concurrent retry) the one already made."""

    def attempt() -> tuple[Certificate, bool]:
        return idempotency.insert_once(
            lambda: Certificate.objects.create(number=_new_certificate_number(), **values),
            Certificate.objects,
            issued_by=by,
            client_id=client_id,
        )

    for _retry in range(2):
        try:
            return attempt()
        except IntegrityError:
            # 80 random bits make a repeated number all but impossible; never hand out a wrong one.
            continue
    return attempt()  # a third failure propagates


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
    if volunteer.user_id == by.pk:
        # A certificate vouches for hours to an employer or a school: nobody vouches for their own.
        raise DomainError("permission_denied", _("不能为本人出具志愿服务证明"))
    _check_period(period_start, period_end, today=today or timezone.localdate())
    volunteer = Volunteer.objects.select_for_update().get(pk=volunteer.pk)
    existing = idempotency.replay(Certificate.objects, issued_by=by, client_id=client_id)
    if existing is not None:
        return existing, False
    if _blank(volunteer.real_name) or not volunteer.has_id_number:
        raise field_error("volunteer", _("该志愿者尚未登记姓名和证件号码, 不能出具证明"))
    standing = Certificate.objects.filter(revoked_at__isnull=True, volunteer=volunteer, community=community)
    if standing.filter(period_start=period_start, period_end=period_end).exists():
        raise DomainError("conflict", _("该期间已出具证明; 如需重新出具, 请先作废原证明"))
    records = _approved_rows(volunteer, community, period_start, period_end)
    if not records:
        raise field_error("period_start", _("该期间内没有审核通过的服务时长"))
    community = Community.objects.select_related("street").get(pk=community.pk)
    values = {
        **_snapshot(volunteer, community, period_start, period_end, records, service_summary=service_summary),
        **_signatories(
            community,
            by=by,
            person_in_charge=person_in_charge,
            handling_officer=handling_officer,
            contact=contact,
        ),
        "issued_by": by,
        "client_id": client_id,
    }
    certificate, created = _insert(values, by=by, client_id=client_id)
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
