"""双报到 of members: a party member registers with the community where they live; staff decide."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from backend.accounts import services as account_services
from backend.accounts.models import User
from backend.communities.models import Community, Grid, PartyOrganization
from backend.core import attempts, crypto, idcard
from backend.core.errors import DomainError, field_error
from backend.core.events import Audience, emit

from ..models import MemberRegistration, PartyMember, PostAssignment, PrivacyConsent, RegistrationStep
from ..registry import membership_ended
from ._common import _blank, _move, _require_staff_of
from .consents import _require_consent, privacy_notice_version


def _set_membership(member: PartyMember, organization: PartyOrganization | None) -> None:
    """The member's organisation follows their approved registration (see PartyMember)."""
    if member.organization_id != (organization.pk if organization is not None else None):
        member.organization = organization
        member.save(update_fields=["organization", "updated_at"])


def _registration_event(registration: MemberRegistration) -> dict[str, Any]:
    return {
        "id": registration.pk,
        "status": registration.status,
        "community": registration.community_id,
        "community_name": registration.community.name,
        "reason": registration.reason,
    }


def _checked_details(
    *, by: User, community: Community, grid: Grid | None, joined_on: dt.date | None, id_number: str | None
) -> str | None:
    """The registration's details checked; the ID number normalised (None when not given)."""
    if grid is not None and grid.community_id != community.pk:
        raise field_error("grid", _("网格不属于该社区"))
    if joined_on is not None and joined_on > timezone.localdate():
        raise field_error("joined_on", _("入党日期不能晚于今天"))
    if not id_number:
        return None
    try:
        number = idcard.validate(id_number)
    except idcard.InvalidIdNumber as exc:
        # What is wrong with a number's form is arithmetic anyone can do: said plainly, not counted.
        raise field_error("id_number", exc.reason) from exc
    # Every well-formed number tried counts towards the account's daily bound: only those can be
    # looked up, so only those could tell who holds which number.
    attempts.count_id_number_attempt(by.pk)
    return number


def _require_reachable_organization(organization: PartyOrganization, community: Community) -> None:
    """The organisation a member names is their employer's (a unit, which co-builds with any
    community), or one of the community's own or its street's. Approval makes the member one of
    its branch: staff of one community must not place people in another community's branch, whose
    own staff could then neither see the approval nor end it."""
    if organization.is_unit:
        return
    if organization.community_id is not None:
        if organization.community_id == community.pk:
            return
    elif organization.street_id == community.street_id:
        return
    raise field_error("organization", _("请选择所在单位党组织, 或本社区、本街道的党组织"))


def _has_active_registration(member: PartyMember | None) -> bool:
    return member is not None and member.registrations.filter(status__in=MemberRegistration.ACTIVE_STATUSES).exists()


def _lock_unregistered(user: User, *, number: str | None) -> PartyMember | None:
    """The person's member row, locked, when they have no active registration and nobody else
    registered their ID number; None for someone registering for the first time."""
    # The lock makes two taps on "submit" queue here: the second sees the first's registration.
    member = PartyMember.objects.select_for_update().filter(user=user).first()
    if _has_active_registration(member):
        raise DomainError("already_registered", _("您已有待审核或已通过的报到, 如已搬家请先撤回"))
    if number is not None:
        taken = PartyMember.objects.filter(id_number_hash=crypto.keyed_hash(number)).exclude(user=user)
        if taken.exists():
            # Answered as any refused number is: whether a number is someone's is not for the caller.
            raise attempts.id_number_refused()
    return member


@transaction.atomic
def register_member(
    *,
    by: User,
    community: Community,
    organization: PartyOrganization,
    real_name: str,
    phone: str,
    status: str,
    consent: bool,
    consent_version: str | None = None,
    grid: Grid | None = None,
    joined_on: dt.date | None = None,
    employer: str | None = None,
    id_number: str | None = None,
    address: str = "",
    note: str = "",
) -> MemberRegistration:
    """An in-service member registers with the community where they live (pending until staff decide).

    Length: a quarter of it is the signature, the 双报到 form's fields as keyword arguments; the
    checks are the named helpers it calls.
    """
    # Nothing about a person's party membership is stored before they agree to the notice.
    _require_consent(consent=consent, version=consent_version)
    _require_reachable_organization(organization, community)
    number = _checked_details(by=by, community=community, grid=grid, joined_on=joined_on, id_number=id_number)
    member = _lock_unregistered(by, number=number)
    consent_row = PrivacyConsent.objects.create(
        user=by, purpose=PrivacyConsent.Purpose.PARTY_MEMBER, version=privacy_notice_version()
    )
    if member is None:
        member = PartyMember(user=by)
    # The organisation named is a claim: the member belongs to it only once staff approve.
    member.organization = None
    member.status = status
    member.real_name = real_name
    member.phone = phone
    member.consent = consent_row
    if joined_on is not None:
        member.joined_on = joined_on
    if employer is not None:
        member.employer = employer
    if number is not None:
        member.set_id_number(number)
    try:
        with transaction.atomic():
            member.save()
            registration = MemberRegistration.objects.create(
                member=member,
                community=community,
                grid=grid,
                organization=organization,
                real_name=real_name,
                phone=phone,
                address=address,
                note=note,
                consent=consent_row,
            )
            RegistrationStep.objects.create(
                registration=registration, to_status=registration.status, actor=by, at=registration.submitted_at
            )
    except IntegrityError as exc:
        # A concurrent first registration of the same person, or of the same ID number by someone
        # else, won: the latter is answered as any refused number is.
        if number is not None and not _has_active_registration(PartyMember.objects.filter(user=by).first()):
            raise attempts.id_number_refused() from exc
        raise DomainError("already_registered", _("您已有待审核或已通过的报到")) from exc
    if not by.real_name:
        account_services.update_profile(user=by, real_name=real_name)
    return registration


def _lock_registration(registration: MemberRegistration) -> MemberRegistration:
    return (
        MemberRegistration.objects.select_for_update()
        .select_related("community", "member", "organization")
        .get(pk=registration.pk)
    )


def _lock_for_staff(registration: MemberRegistration, *, by: User, status: str, refusal: str) -> MemberRegistration:
    """The registration locked for its community's staff to act on, in the one state they may act
    from; never the acting staff member's own."""
    registration = _lock_registration(registration)
    _require_staff_of(by, registration.community_id)
    # Staff who are members themselves never decide their own registration: a colleague does.
    if registration.member.user_id == by.pk:
        raise DomainError("permission_denied", _("不能审核或注销本人的报到"))
    if registration.status != status:
        raise DomainError("invalid_transition", refusal)
    return registration


@transaction.atomic
def approve_registration(*, registration: MemberRegistration, by: User) -> MemberRegistration:
    registration = _lock_for_staff(
        registration, by=by, status=MemberRegistration.Status.PENDING, refusal=_("只有待审核的报到可以审核")
    )
    now = timezone.now()
    _move(registration, to=MemberRegistration.Status.APPROVED, by=by, at=now)
    registration.decided_at = now
    registration.decided_by = by
    registration.approved_at = now
    registration.save(update_fields=["status", "decided_at", "decided_by", "approved_at"])
    _set_membership(registration.member, registration.organization)
    emit(
        event="registration.approved",
        data=_registration_event(registration),
        audience=Audience.user(registration.member.user_id),
    )
    return registration


@transaction.atomic
def reject_registration(*, registration: MemberRegistration, by: User, reason: str) -> MemberRegistration:
    registration = _lock_for_staff(
        registration, by=by, status=MemberRegistration.Status.PENDING, refusal=_("只有待审核的报到可以审核")
    )
    if _blank(reason):
        raise field_error("reason", _("请填写驳回原因"))
    now = timezone.now()
    _move(registration, to=MemberRegistration.Status.REJECTED, by=by, reason=reason.strip(), at=now)
    registration.decided_at = now
    registration.decided_by = by
    registration.reason = reason.strip()
    registration.save(update_fields=["status", "decided_at", "decided_by", "reason"])
    emit(
        event="registration.rejected",
        data=_registration_event(registration),
        audience=Audience.user(registration.member.user_id),
    )
    return registration


@transaction.atomic
def withdraw_registration(*, registration: MemberRegistration, by: User) -> MemberRegistration:
    """The member moves away (or changes their mind): the registration ends, its history stays."""
    registration = _lock_registration(registration)
    if registration.member.user_id != by.pk:
        raise DomainError("permission_denied", _("只能撤回自己的报到"))
    if registration.status == MemberRegistration.Status.WITHDRAWN:
        return registration
    if registration.status not in MemberRegistration.ACTIVE_STATUSES:
        raise DomainError("invalid_transition", _("已驳回的报到无需撤回"))
    _end_registration(registration, to=MemberRegistration.Status.WITHDRAWN, by=by)
    return registration


@transaction.atomic
def revoke_registration(*, registration: MemberRegistration, by: User, reason: str) -> MemberRegistration:
    """Staff end an approved registration (the member moved away, left, or never lived here): from
    now on the person is no member of the community or of the organisation they named."""
    registration = _lock_for_staff(
        registration, by=by, status=MemberRegistration.Status.APPROVED, refusal=_("只有已报到的党员可以注销报到")
    )
    if _blank(reason):
        raise field_error("reason", _("请填写注销原因"))
    registration.reason = reason.strip()
    _end_registration(registration, to=MemberRegistration.Status.REVOKED, by=by, reason=registration.reason)
    emit(
        event="registration.revoked",
        data=_registration_event(registration),
        audience=Audience.user(registration.member.user_id),
    )
    return registration


def _end_registration(registration: MemberRegistration, *, to: str, by: User, reason: str = "") -> None:
    """A registration ends: its community's posts are left and the membership it made is gone."""
    was_approved = registration.status == MemberRegistration.Status.APPROVED
    now = timezone.now()
    _move(registration, to=to, by=by, reason=reason, at=now)
    registration.withdrawn_at = now
    registration.save(update_fields=["status", "withdrawn_at", "reason"])
    # Posts belong to the community they leave.
    PostAssignment.objects.filter(
        member=registration.member, post__community_id=registration.community_id, left_at__isnull=True
    ).update(left_at=now)
    if was_approved:
        _set_membership(registration.member, None)
        for _app, end in membership_ended.items():
            end(user_id=registration.member.user_id, by=by)
