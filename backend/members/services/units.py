"""双报到 of units: an employer's party organisation registers with a community; its filer becomes liaison."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from backend.accounts import services as account_services
from backend.accounts.models import Role, RoleGrant, User
from backend.accounts.scoping import can_act_on_community, get_scope
from backend.communities.models import Community, PartyOrganization
from backend.core.errors import DomainError, field_error
from backend.core.events import Audience, emit

from ..models import UnitRegistration
from ._common import _blank, _require_staff_of


def _lock_unit_registration(registration: UnitRegistration) -> UnitRegistration:
    return (
        UnitRegistration.objects.select_for_update().select_related("community", "organization").get(pk=registration.pk)
    )


@transaction.atomic
def register_unit(
    *,
    by: User,
    organization: PartyOrganization,
    community: Community,
    contact_name: str,
    contact_phone: str,
    agreement_date: dt.date | None = None,
    resources: str = "",
) -> UnitRegistration:
    """An employer's organisation registers with a community; the filer becomes its liaison on approval."""
    if not organization.is_unit:
        raise field_error("organization", _("请选择机关或企事业单位党组织"))
    active = UnitRegistration.objects.filter(
        organization=organization, community=community, status__in=UnitRegistration.ACTIVE_STATUSES
    )
    if active.exists():
        raise DomainError("already_registered", _("该单位已向该社区报到或正在审核"))
    try:
        with transaction.atomic():
            return UnitRegistration.objects.create(
                organization=organization,
                community=community,
                filed_by=by,
                contact_name=contact_name,
                contact_phone=contact_phone,
                agreement_date=agreement_date,
                resources=resources,
            )
    except IntegrityError as exc:
        raise DomainError("already_registered", _("该单位已向该社区报到或正在审核")) from exc


UNIT_EDITABLE = {"agreement_date", "contact_name", "contact_phone", "resources"}


def require_unit_editor(by: User, registration: UnitRegistration) -> None:
    """Its filer or the community's staff change a unit's filing (views ask before reading the body):
    the unit's other liaisons see it but do not edit it."""
    if registration.filed_by_id != by.pk and not can_act_on_community(by, registration.community_id):
        raise DomainError("permission_denied", _("只能修改自己提交的报到"))


@transaction.atomic
def update_unit_registration(*, registration: UnitRegistration, by: User, **changes: Any) -> UnitRegistration:
    unknown = set(changes) - UNIT_EDITABLE
    if unknown:
        raise ValueError(f"not editable: {sorted(unknown)}")
    registration = _lock_unit_registration(registration)
    require_unit_editor(by, registration)
    is_staff = can_act_on_community(by, registration.community_id)
    editable = UnitRegistration.ACTIVE_STATUSES if is_staff else (UnitRegistration.Status.PENDING,)
    if registration.status not in editable:
        raise DomainError("invalid_transition", _("当前状态不能修改"))
    for name, value in changes.items():
        setattr(registration, name, value)
    if changes:
        registration.save(update_fields=list(changes))
    return registration


def _require_unit_decider(registration: UnitRegistration, by: User, *, grants_role: bool) -> None:
    """Staff of the community decide a unit's filing, never its filer; an approval also makes the
    filer a liaison, so it takes someone who hands out roles in that community (accounts' rule)."""
    _require_staff_of(by, registration.community_id)
    # The filer, or anyone already speaking for the unit as its liaison, is a party to the filing.
    if registration.filed_by_id == by.pk or registration.organization_id in get_scope(by).organization_ids:
        raise DomainError("permission_denied", _("不能审核自己提交的报到"))
    if grants_role and not account_services.manages_roles_in(granter=by, community_id=registration.community_id):
        raise DomainError("permission_denied", _("只有社区书记或街道管理员可以批准单位报到"))


@transaction.atomic
def approve_unit_registration(*, registration: UnitRegistration, by: User) -> UnitRegistration:
    registration = _lock_unit_registration(registration)
    _require_unit_decider(registration, by, grants_role=True)
    if registration.status != UnitRegistration.Status.PENDING:
        raise DomainError("invalid_transition", _("只有待审核的报到可以审核"))
    now = timezone.now()
    registration.status = UnitRegistration.Status.APPROVED
    registration.decided_at = now
    registration.decided_by = by
    registration.approved_at = now
    # The liaison role follows from this approval (the co-building tie with this community), for this
    # organisation only; the approver is recorded as its granter.
    grant, created = account_services.grant_role(
        granter=None,
        decided_by=by,
        user=registration.filed_by,
        role=Role.UNIT_LIAISON,
        organization=registration.organization,
    )
    # The tie remembers the grant when an approval made it (this one, or that of another of the
    # filer's standing ties), so that ending the ties ends it; a grant given by hand is not its own.
    registration.liaison_grant = grant if created or _made_by_a_tie(grant) else None
    registration.save(update_fields=["status", "decided_at", "decided_by", "approved_at", "liaison_grant"])
    emit(
        event="unit_registration.approved",
        data={
            "id": registration.pk,
            "organization": registration.organization_id,
            "organization_name": registration.organization.name,
            "community": registration.community_id,
            "community_name": registration.community.name,
        },
        audience=Audience.user(registration.filed_by_id),
    )
    return registration


@transaction.atomic
def reject_unit_registration(*, registration: UnitRegistration, by: User, reason: str) -> UnitRegistration:
    registration = _lock_unit_registration(registration)
    _require_unit_decider(registration, by, grants_role=False)
    if _blank(reason):
        raise field_error("reason", _("请填写驳回原因"))
    if registration.status != UnitRegistration.Status.PENDING:
        raise DomainError("invalid_transition", _("只有待审核的报到可以审核"))
    registration.status = UnitRegistration.Status.REJECTED
    registration.decided_at = timezone.now()
    registration.decided_by = by
    registration.reason = reason.strip()
    registration.save(update_fields=["status", "decided_at", "decided_by", "reason"])
    emit(
        event="unit_registration.rejected",
        data={"id": registration.pk, "community": registration.community_id, "reason": registration.reason},
        audience=Audience.user(registration.filed_by_id),
    )
    return registration


@transaction.atomic
def withdraw_unit_registration(*, registration: UnitRegistration, by: User) -> UnitRegistration:
    registration = _lock_unit_registration(registration)
    # The tie's filer or the community's staff (and its street's): another liaison of the same unit
    # speaks for it through ties of their own, not this one.
    may = registration.filed_by_id == by.pk or can_act_on_community(by, registration.community_id)
    if not may:
        raise DomainError("permission_denied", _("无权撤回该单位的报到"))
    if registration.status == UnitRegistration.Status.WITHDRAWN:
        return registration
    if registration.status not in UnitRegistration.ACTIVE_STATUSES:
        raise DomainError("invalid_transition", _("已驳回的报到无需撤回"))
    was_approved = registration.status == UnitRegistration.Status.APPROVED
    registration.status = UnitRegistration.Status.WITHDRAWN
    registration.withdrawn_at = timezone.now()
    registration.save(update_fields=["status", "withdrawn_at"])
    if was_approved:
        _end_liaison(registration, by=by)
    return registration


def _made_by_a_tie(grant: RoleGrant) -> bool:
    return UnitRegistration.objects.filter(liaison_grant=grant, status=UnitRegistration.Status.APPROVED).exists()


def _end_liaison(registration: UnitRegistration, *, by: User) -> None:
    """The tie ended, so does the liaison grant its approval made, unless another approved tie
    still holds the same grant. A grant the tie did not make (given by hand, or held before it was
    approved) stays: whoever gave it takes it back."""
    grant = registration.liaison_grant
    if grant is None:
        return
    still_tied = (
        UnitRegistration.objects.filter(liaison_grant=grant, status=UnitRegistration.Status.APPROVED)
        .exclude(pk=registration.pk)
        .exists()
    )
    if still_tied:
        return
    # Through accounts' service, so the filer's open sockets close with the role.
    account_services.revoke_role(revoker=None, decided_by=by, grant=grant)
