"""Privacy consent: the notice version, withdrawing a consent, and erasing a person's party details."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from backend.accounts.models import User
from backend.core.errors import DomainError

from ..models import (
    ConsentWithdrawal,
    Demand,
    MemberRegistration,
    PartyMember,
    PostAssignment,
    PrivacyConsent,
    UnitRegistration,
)
from ._common import _move


def privacy_notice_version() -> str:
    return str(settings.PRIVACY_NOTICE_VERSION)


def _require_consent(*, consent: bool, version: str | None) -> None:
    if consent is not True:
        raise DomainError("consent_required", _("请先阅读并同意隐私政策"))
    if version and version != privacy_notice_version():
        raise DomainError("consent_required", _("隐私政策已更新, 请阅读并同意最新版本"))


def _erase_party_details(*, user: User, now: dt.datetime) -> None:
    """The person's party details stop being processed: their 双报到 ends (posts left) and the
    details stored under the consent are blanked. The rows stay as the community's history
    (counts, points, who decided what), pointing at the account."""
    member = PartyMember.objects.select_for_update().filter(user=user).first()
    if member is None:
        return
    registrations = MemberRegistration.objects.filter(member=member)
    for registration in registrations.filter(status__in=MemberRegistration.ACTIVE_STATUSES).select_for_update():
        _move(registration, to=MemberRegistration.Status.WITHDRAWN, by=user, at=now, reason=_("撤回隐私同意"))
        registration.withdrawn_at = now
        registration.save(update_fields=["status", "withdrawn_at"])
    registrations.update(real_name="", phone="", address="", note="")
    PostAssignment.objects.filter(member=member, left_at__isnull=True).update(left_at=now)
    member.organization = None
    member.real_name = ""
    member.phone = ""
    member.employer = ""
    member.joined_on = None
    member.id_number_encrypted = ""
    member.id_number_hash = None
    member.id_number_masked = ""
    member.save(
        update_fields=[
            "organization",
            "real_name",
            "phone",
            "employer",
            "joined_on",
            "id_number_encrypted",
            "id_number_hash",
            "id_number_masked",
            "updated_at",
        ]
    )


@transaction.atomic
def withdraw_consent(*, by: User, purpose: str) -> tuple[ConsentWithdrawal, bool]:
    """Withdraw the consent given for `purpose`. Returns (withdrawal, created); again: the same one.

    party_member: the active 双报到 is withdrawn, service posts are left, and the name, phone,
    address, employer, date joined and ID number given under the consent are erased. What was
    done before stays lawful and stays recorded (registrations, points). Registering again asks
    for a new consent.
    """
    purpose = PrivacyConsent.Purpose(purpose)
    # The same lock as register_member: a registration and a withdrawal never interleave.
    PartyMember.objects.select_for_update().filter(user=by).first()
    latest = PrivacyConsent.objects.filter(user=by, purpose=purpose).order_by("-given_at", "-id").first()
    if latest is None:
        raise DomainError("invalid_transition", _("您没有给出过该项同意"))
    existing = ConsentWithdrawal.objects.filter(consent=latest).first()
    if existing is not None:
        return existing, False
    now = timezone.now()
    withdrawal = ConsentWithdrawal.objects.create(user=by, purpose=purpose, consent=latest, withdrawn_at=now)
    if purpose == PrivacyConsent.Purpose.PARTY_MEMBER:
        _erase_party_details(user=by, now=now)
    return withdrawal, True


def erase_personal_data(user: User, *, now: dt.datetime) -> None:
    """Account deletion (accounts.registry): the party details as on withdrawal, the contacts the
    person gave on their demands, and their own phone where they were a unit's contact."""
    member_phone = PartyMember.objects.filter(user=user).values_list("phone", flat=True).first()
    own_phones = {p for p in (user.phone, member_phone) if p}
    _erase_party_details(user=user, now=now)
    Demand.objects.filter(requester=user).exclude(contact_name="", contact_phone="").update(
        contact_name="", contact_phone=""
    )
    if own_phones:
        # A unit's filing stays the unit's; only a contact that was this person goes.
        UnitRegistration.objects.filter(filed_by=user, contact_phone__in=own_phones).update(
            contact_name="", contact_phone=""
        )
