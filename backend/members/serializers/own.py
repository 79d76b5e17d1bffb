"""`members/me` written directly from the rows selectors.own_page reads."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import Any

from backend.accounts.models import mask_phone
from backend.core.serializers import moments

from ..selectors.own import OwnPage, OwnPerson, OwnRegistration, OwnUnitRegistration
from .members import REGISTRATION_STATUS_LABELS


def _day(value: date | None) -> str | None:
    return value.isoformat() if value else None


def _masked(phone: str) -> str:
    """MaskedPhoneField's output."""
    return (mask_phone(phone) or "") if phone else ""


def _member(person: OwnPerson, *, points_year: int, moment: Callable[[datetime | None], str | None]) -> dict[str, Any]:
    member = person.member
    active = person.active_registrations
    current = active[0] if active else None
    status = person.registration_status
    return {
        "id": member.id,
        "user": member.user_id,
        "real_name": member.real_name,
        "phone": member.phone,
        "organization": member.organization_id,
        "organization_name": member.organization_name,
        "status": member.status,
        "joined_on": _day(member.joined_on),
        "employer": member.employer,
        "id_number": member.id_number_masked,
        "registration": None
        if current is None
        else {
            "id": current.id,
            "community": current.community_id,
            "community_name": current.community_name,
            "grid": current.grid_id,
            "grid_name": current.grid_name,
            "status": current.status,
            "approved_at": moment(current.approved_at),
        },
        "registration_status": status,
        "registration_status_display": REGISTRATION_STATUS_LABELS.get(status, "未报到"),
        "post_count": person.post_count,
        "points_year": points_year,
    }


def _registration(
    r: OwnRegistration, person: OwnPerson, moment: Callable[[datetime | None], str | None]
) -> dict[str, Any]:
    member = person.member
    return {
        "id": r.id,
        "member": member.id,
        "user": member.user_id,
        "community": r.community_id,
        "community_name": r.community_name,
        "grid": r.grid_id,
        "grid_name": r.grid_name,
        "organization": r.organization_id,
        "organization_name": r.organization_name,
        "real_name": r.real_name,
        "phone": _masked(r.phone),
        "member_status": member.status,
        "id_number": member.id_number_masked,
        "address": r.address,
        "note": r.note,
        "status": r.status,
        "reason": r.reason,
        "consent_version": r.consent_version,
        "submitted_at": moment(r.submitted_at),
        "decided_at": moment(r.decided_at),
        "approved_at": moment(r.approved_at),
        "withdrawn_at": moment(r.withdrawn_at),
        "steps": [
            {
                "from_status": s.from_status,
                "to_status": s.to_status,
                "actor": s.actor_id,
                "reason": s.reason,
                "at": moment(s.at),
            }
            for s in r.steps
        ],
    }


def _unit_registration(u: OwnUnitRegistration, moment: Callable[[datetime | None], str | None]) -> dict[str, Any]:
    return {
        "id": u.id,
        "organization": u.organization_id,
        "organization_name": u.organization_name,
        "community": u.community_id,
        "community_name": u.community_name,
        "agreement_date": _day(u.agreement_date),
        "contact_name": u.contact_name,
        "contact_phone": mask_phone(u.contact_phone),
        "resources": u.resources,
        "status": u.status,
        "reason": u.reason,
        "filed_by": u.filed_by_id,
        "submitted_at": moment(u.submitted_at),
        "decided_at": moment(u.decided_at),
        "approved_at": moment(u.approved_at),
        "withdrawn_at": moment(u.withdrawn_at),
    }


def member_me_payload(
    page: OwnPage, *, report: dict[str, Any] | None, min_posts: int, privacy_notice_version: str
) -> dict[str, Any]:
    """What MemberMeSerializer writes for the page, written directly: every opening of the
    mini-program asks for it, and DRF's field machinery (ModelSerializers building their fields
    from the models on every instance) was a large part of its CPU. MemberMeSerializer stays the
    schema; tests/members/test_me_page.py holds the two to the same output."""
    moment = moments()
    person = page.person
    return {
        "member": None if person is None else _member(person, points_year=page.year_total, moment=moment),
        "registrations": [] if person is None else [_registration(r, person, moment) for r in person.registrations],
        "unit_registrations": [_unit_registration(u, moment) for u in page.unit_registrations],
        "posts": []
        if person is None
        else [
            {
                "id": a.id,
                "post": a.post_id,
                "post_name": a.post_name,
                "community": a.community_id,
                "claimed_at": moment(a.claimed_at),
                "left_at": moment(a.left_at),
            }
            for a in person.posts
        ],
        "min_posts": min_posts,
        "points": {"year": page.year, "year_total": page.year_total, "total": page.total},
        "privacy_notice_version": privacy_notice_version,
        "report": report,
    }
