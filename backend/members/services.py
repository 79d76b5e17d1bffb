"""Members' writes: 双报到 of members and units, service posts, the 三单 flow and the points ledger.

Every function runs in a transaction, locks the row whose state it changes, and raises a
DomainError with a code from API.md. Events leave with `emit()` after commit.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from backend.accounts import services as account_services
from backend.accounts.models import Role, RoleGrant, User
from backend.accounts.scoping import can_act_on_community, get_scope
from backend.communities.models import Community, Estate, Grid, PartyOrganization, Street
from backend.core import crypto, idcard, moderation
from backend.core.errors import DomainError, field_error
from backend.core.events import Audience, emit

from . import selectors
from .models import (
    ConsentWithdrawal,
    Demand,
    DemandStep,
    MemberRegistration,
    PartyMember,
    PointsEntry,
    PointsRule,
    PostAssignment,
    PrivacyConsent,
    RegistrationStep,
    Resource,
    ServicePost,
    ServiceProject,
    UnitRegistration,
)
from .registry import membership_ended

DEMAND_COMPLETED_RULE = "demand_completed"


def _require_staff_of(user: User | None, community_id: int, message: str | None = None) -> None:
    if not can_act_on_community(user, community_id):
        raise DomainError("permission_denied", message or _("需要本社区工作人员权限"))


def _blank(text: str | None) -> bool:
    return not (text or "").strip()


# Consent --------------------------------------------------------------------------------------


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
        _move(registration, to=MemberRegistration.Status.WITHDRAWN, actor=user, at=now, reason=_("撤回隐私同意"))
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
def withdraw_consent(*, user: User, purpose: str) -> tuple[ConsentWithdrawal, bool]:
    """Withdraw the consent given for `purpose`. Returns (withdrawal, created); again: the same one.

    party_member: the active 双报到 is withdrawn, service posts are left, and the name, phone,
    address, employer, date joined and ID number given under the consent are erased. What was
    done before stays lawful and stays recorded (registrations, points). Registering again asks
    for a new consent.
    """
    purpose = PrivacyConsent.Purpose(purpose)
    # The same lock as register_member: a registration and a withdrawal never interleave.
    PartyMember.objects.select_for_update().filter(user=user).first()
    latest = PrivacyConsent.objects.filter(user=user, purpose=purpose).order_by("-given_at", "-id").first()
    if latest is None:
        raise DomainError("invalid_transition", _("您没有给出过该项同意"))
    existing = ConsentWithdrawal.objects.filter(consent=latest).first()
    if existing is not None:
        return existing, False
    now = timezone.now()
    withdrawal = ConsentWithdrawal.objects.create(user=user, purpose=purpose, consent=latest, withdrawn_at=now)
    if purpose == PrivacyConsent.Purpose.PARTY_MEMBER:
        _erase_party_details(user=user, now=now)
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


# 双报到: members ------------------------------------------------------------------------------


def _move(
    registration: MemberRegistration,
    *,
    to: str,
    actor: User | None,
    reason: str = "",
    at: dt.datetime | None = None,
) -> None:
    """Set the registration's new state (the caller saves it) and append the step to its history."""
    RegistrationStep.objects.create(
        registration=registration,
        from_status=registration.status if registration.pk else "",
        to_status=to,
        actor=actor,
        reason=reason,
        at=at or timezone.now(),
    )
    registration.status = to


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


@transaction.atomic
def register_member(
    *,
    user: User,
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
    """An in-service member registers with the community where they live (pending until staff decide)."""
    # Nothing about a person's party membership is stored before they agree to the notice.
    _require_consent(consent=consent, version=consent_version)
    if grid is not None and grid.community_id != community.pk:
        raise field_error("grid", _("网格不属于该社区"))
    if joined_on is not None and joined_on > timezone.localdate():
        raise field_error("joined_on", _("入党日期不能晚于今天"))
    number = None
    if id_number:
        try:
            number = idcard.validate(id_number)
        except idcard.InvalidIdNumber as exc:
            raise field_error("id_number", exc.reason) from exc

    # The lock makes two taps on "submit" queue here: the second sees the first's registration.
    member = PartyMember.objects.select_for_update().filter(user=user).first()
    if member is not None and member.registrations.filter(status__in=MemberRegistration.ACTIVE_STATUSES).exists():
        raise DomainError("already_registered", _("您已有待审核或已通过的报到, 如已搬家请先撤回"))
    if number is not None:
        taken = PartyMember.objects.filter(id_number_hash=crypto.keyed_hash(number)).exclude(user=user)
        if taken.exists():
            raise DomainError("already_registered", _("该身份证号已由其他党员登记"))

    consent_row = PrivacyConsent.objects.create(
        user=user, purpose=PrivacyConsent.Purpose.PARTY_MEMBER, version=privacy_notice_version()
    )
    if member is None:
        member = PartyMember(user=user)
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
                registration=registration, to_status=registration.status, actor=user, at=registration.submitted_at
            )
    except IntegrityError as exc:
        # A concurrent first registration of the same person (or of the same ID number) won.
        raise DomainError("already_registered", _("您已有待审核或已通过的报到")) from exc
    if not user.real_name:
        account_services.update_profile(user=user, real_name=real_name)
    return registration


def _lock_registration(registration: MemberRegistration) -> MemberRegistration:
    return (
        MemberRegistration.objects.select_for_update()
        .select_related("community", "member", "organization")
        .get(pk=registration.pk)
    )


def _lock_for_staff(registration: MemberRegistration, *, by: User, status: str, refusal: str) -> MemberRegistration:
    """The registration locked for its community's staff to act on, in the one state they may act from."""
    registration = _lock_registration(registration)
    _require_staff_of(by, registration.community_id)
    if registration.status != status:
        raise DomainError("invalid_transition", refusal)
    return registration


@transaction.atomic
def approve_registration(*, registration: MemberRegistration, by: User) -> MemberRegistration:
    registration = _lock_for_staff(
        registration, by=by, status=MemberRegistration.Status.PENDING, refusal=_("只有待审核的报到可以审核")
    )
    now = timezone.now()
    _move(registration, to=MemberRegistration.Status.APPROVED, actor=by, at=now)
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
    _move(registration, to=MemberRegistration.Status.REJECTED, actor=by, reason=reason.strip(), at=now)
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
    _end_registration(registration, to=MemberRegistration.Status.WITHDRAWN, actor=by)
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
    _end_registration(registration, to=MemberRegistration.Status.REVOKED, actor=by, reason=registration.reason)
    emit(
        event="registration.revoked",
        data=_registration_event(registration),
        audience=Audience.user(registration.member.user_id),
    )
    return registration


def _end_registration(registration: MemberRegistration, *, to: str, actor: User, reason: str = "") -> None:
    """A registration ends: its community's posts are left and the membership it made is gone."""
    was_approved = registration.status == MemberRegistration.Status.APPROVED
    now = timezone.now()
    _move(registration, to=to, actor=actor, reason=reason, at=now)
    registration.withdrawn_at = now
    registration.save(update_fields=["status", "withdrawn_at", "reason"])
    # Posts belong to the community they leave.
    PostAssignment.objects.filter(
        member=registration.member, post__community_id=registration.community_id, left_at__isnull=True
    ).update(left_at=now)
    if was_approved:
        _set_membership(registration.member, None)
        for _app, end in membership_ended.items():
            end(user_id=registration.member.user_id, actor=actor)


# 双报到: units --------------------------------------------------------------------------------


def _lock_unit_registration(registration: UnitRegistration) -> UnitRegistration:
    return (
        UnitRegistration.objects.select_for_update().select_related("community", "organization").get(pk=registration.pk)
    )


@transaction.atomic
def register_unit(
    *,
    user: User,
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
                filed_by=user,
                contact_name=contact_name,
                contact_phone=contact_phone,
                agreement_date=agreement_date,
                resources=resources,
            )
    except IntegrityError as exc:
        raise DomainError("already_registered", _("该单位已向该社区报到或正在审核")) from exc


UNIT_EDITABLE = {"agreement_date", "contact_name", "contact_phone", "resources"}


@transaction.atomic
def update_unit_registration(*, registration: UnitRegistration, by: User, **changes: Any) -> UnitRegistration:
    unknown = set(changes) - UNIT_EDITABLE
    if unknown:
        raise ValueError(f"not editable: {sorted(unknown)}")
    registration = _lock_unit_registration(registration)
    is_staff = can_act_on_community(by, registration.community_id)
    if not is_staff and registration.filed_by_id != by.pk:
        raise DomainError("permission_denied", _("只能修改自己提交的报到"))
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
    if registration.filed_by_id == by.pk:
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
    registration.save(update_fields=["status", "decided_at", "decided_by", "approved_at"])
    # The liaison role follows from this approval (the co-building tie with this community), for this
    # organisation only; the approver is recorded as its granter.
    account_services.grant_role(
        granter=None,
        decided_by=by,
        user=registration.filed_by,
        role=Role.UNIT_LIAISON,
        organization=registration.organization,
    )
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
    may = (
        registration.filed_by_id == by.pk
        or registration.organization_id in get_scope(by).organization_ids
        or can_act_on_community(by, registration.community_id)
    )
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


def _end_liaison(registration: UnitRegistration, *, by: User) -> None:
    """The tie ended, so does the liaison role its approval granted the filer, unless another
    approved registration of the same unit filed by them still grants it."""
    still_tied = UnitRegistration.objects.filter(
        organization_id=registration.organization_id,
        filed_by_id=registration.filed_by_id,
        status=UnitRegistration.Status.APPROVED,
    ).exists()
    if still_tied:
        return
    grants = RoleGrant.objects.filter(
        user_id=registration.filed_by_id,
        role=Role.UNIT_LIAISON,
        organization_id=registration.organization_id,
        revoked_at__isnull=True,
    )
    for grant in grants:
        # Through accounts' service, so the filer's open sockets close with the role.
        account_services.revoke_role(revoker=None, decided_by=by, grant=grant)


# Service posts --------------------------------------------------------------------------------


@transaction.atomic
def create_post(*, by: User, community: Community, name: str, capacity: int = 1, description: str = "") -> ServicePost:
    _require_staff_of(by, community.pk)
    if ServicePost.objects.filter(community=community, name=name).exists():
        raise field_error("name", _("该社区已有同名岗位"))
    try:
        with transaction.atomic():
            return ServicePost.objects.create(
                community=community, name=name, capacity=capacity, description=description
            )
    except IntegrityError as exc:
        raise field_error("name", _("该社区已有同名岗位")) from exc


POST_EDITABLE = {"name", "description", "capacity", "is_active"}


@transaction.atomic
def update_post(*, post: ServicePost, by: User, **changes: Any) -> ServicePost:
    unknown = set(changes) - POST_EDITABLE
    if unknown:
        raise ValueError(f"not editable: {sorted(unknown)}")
    post = ServicePost.objects.select_for_update().get(pk=post.pk)
    _require_staff_of(by, post.community_id)
    name = changes.get("name")
    if name and ServicePost.objects.filter(community_id=post.community_id, name=name).exclude(pk=post.pk).exists():
        raise field_error("name", _("该社区已有同名岗位"))
    for field, value in changes.items():
        setattr(post, field, value)
    if changes:
        post.save(update_fields=list(changes))
    return post


@transaction.atomic
def claim_post(*, post: ServicePost, user: User) -> tuple[PostAssignment, bool]:
    """A registered member takes a post. Claiming a post already held answers with that assignment."""
    # Locking the post serialises claims, so two members cannot take its last place together.
    post = ServicePost.objects.select_for_update().get(pk=post.pk)
    member = selectors.approved_member_in(user, post.community_id)
    if member is None:
        raise DomainError("permission_denied", _("只有在本社区报到的党员可以认领岗位"))
    held = PostAssignment.objects.filter(post=post, member=member, left_at__isnull=True).first()
    if held is not None:
        return held, False
    if not post.is_active:
        raise DomainError("invalid_transition", _("该岗位已停用"))
    if PostAssignment.objects.filter(post=post, left_at__isnull=True).count() >= post.capacity:
        raise DomainError("post_full", _("该岗位名额已满"), status=409)
    return PostAssignment.objects.create(post=post, member=member), True


@transaction.atomic
def leave_post(*, post: ServicePost, user: User) -> PostAssignment | None:
    """Leave a post. Leaving one not held changes nothing, so a retried request is harmless."""
    assignment = (
        PostAssignment.objects.select_for_update().filter(post=post, member__user=user, left_at__isnull=True).first()
    )
    if assignment is None:
        return None
    assignment.left_at = timezone.now()
    assignment.save(update_fields=["left_at"])
    return assignment


# 三单: demands --------------------------------------------------------------------------------


def _lock_demand(demand: Demand) -> Demand:
    return Demand.objects.select_for_update().select_related("community").get(pk=demand.pk)


def _step(
    demand: Demand,
    *,
    action: str,
    from_status: str,
    actor: User | None,
    assignee: User | None = None,
    note: str = "",
    evidence: Iterable[Any] = (),
    at: dt.datetime | None = None,
) -> DemandStep:
    step = DemandStep.objects.create(
        demand=demand,
        action=action,
        from_status=from_status,
        to_status=demand.status,
        actor=actor,
        assignee=assignee,
        note=note,
        at=at or timezone.now(),
    )
    evidence = list(evidence)
    if evidence:
        step.evidence.set(evidence)
    return step


def _announce(demand: Demand, *, action: str, actor: User | None, also: Iterable[int | None] = ()) -> None:
    """Tell the people involved (who asked, who took it) about a step; not the one who took the step."""
    people = {demand.requester_id, demand.claimed_by_id, *also} - {None, getattr(actor, "pk", None)}
    if not people:
        return
    emit(
        event=f"demand.{action}",
        data={
            "id": demand.pk,
            "kind": demand.kind,
            "title": demand.title,
            "status": demand.status,
            "community": demand.community_id,
            "actor": getattr(actor, "pk", None),
        },
        audience=Audience.users(sorted(people)),
    )


def _transition_error(demand: Demand, action: str) -> DomainError:
    return DomainError(
        "invalid_transition",
        _("需求当前状态为“%(status)s”, 不能%(action)s")
        % {"status": demand.get_status_display(), "action": DemandStep.Action(action).label},
    )


@transaction.atomic
def file_demand(
    *,
    user: User,
    kind: str,
    community: Community,
    title: str,
    description: str = "",
    grid: Grid | None = None,
    estate: Estate | None = None,
    contact_name: str = "",
    contact_phone: str = "",
    photos: Iterable[Any] = (),
    client_id: uuid.UUID | None = None,
) -> Demand:
    """群众点单: a resident (or a grid worker or staff on their behalf) files a need."""
    if grid is not None and grid.community_id != community.pk:
        raise field_error("grid", _("网格不属于该社区"))
    if estate is not None and estate.community_id != community.pk:
        raise field_error("estate", _("小区不属于该社区"))
    demand = Demand.objects.create(
        kind=kind,
        community=community,
        grid=grid,
        estate=estate,
        title=title,
        description=description,
        contact_name=contact_name,
        contact_phone=contact_phone,
        requester=user,
        client_id=client_id,
    )
    photos = list(photos)
    if photos:
        demand.photos.set(photos)
    _step(demand, action=DemandStep.Action.CREATED, from_status="", actor=user, at=demand.created_at)
    # Members and units of the community see it (to claim it) only once WeChat has passed it.
    moderation.submit(
        demand,
        author=user,
        community_id=community.pk,
        texts={"text": ("title", "description")},
        images=photos,
    )
    return demand


@transaction.atomic
def submit_demand(*, user: User, client_id: uuid.UUID | None, **fields: Any) -> tuple[Demand, bool]:
    """`file_demand` for a phone that may retry: (demand, created). The same client_id from the same
    requester answers with the first demand and writes nothing; without one every call files anew."""
    if client_id is None:
        return file_demand(user=user, **fields), True
    existing = Demand.objects.filter(requester=user, client_id=client_id).first()
    if existing is not None:
        return existing, False
    try:
        # A savepoint: a concurrent retry may win the race to the constraint.
        with transaction.atomic():
            return file_demand(user=user, client_id=client_id, **fields), True
    except IntegrityError:
        existing = Demand.objects.filter(requester=user, client_id=client_id).first()
        if existing is None:
            raise
        return existing, False


@transaction.atomic
def claim_demand(*, demand: Demand, user: User, organization: PartyOrganization | None = None) -> Demand:
    """党员接单: a registered member, or a registered unit through its liaison, takes an open demand."""
    demand = _lock_demand(demand)
    if demand.status != Demand.Status.OPEN:
        raise _transition_error(demand, DemandStep.Action.CLAIMED)
    if demand.requester_id == user.pk:
        raise DomainError("permission_denied", _("不能认领自己提出的需求"))
    moderation.require_visible(demand)
    if organization is not None:
        if organization.pk not in get_scope(user).organization_ids or not selectors.unit_registered_with(
            organization.pk, demand.community_id
        ):
            raise DomainError("permission_denied", _("只有已向本社区报到的共建单位联络员可以代表单位认领"))
    elif selectors.approved_member_in(user, demand.community_id) is None:
        raise DomainError("permission_denied", _("只有在本社区报到的党员或共建单位可以认领"))
    previous = demand.status
    demand.status = Demand.Status.CLAIMED
    demand.claimed_by = user
    demand.claimed_organization = organization
    demand.claimed_at = timezone.now()
    demand.save(update_fields=["status", "claimed_by", "claimed_organization", "claimed_at"])
    _step(demand, action=DemandStep.Action.CLAIMED, from_status=previous, actor=user, assignee=user)
    _announce(demand, action="claimed", actor=user)
    return demand


@transaction.atomic
def assign_demand(*, demand: Demand, by: User, member: PartyMember, note: str = "") -> Demand:
    """社区派单: staff give an open (or re-give a claimed) demand to a member registered there."""
    demand = _lock_demand(demand)
    _require_staff_of(by, demand.community_id)
    if demand.status not in (Demand.Status.OPEN, Demand.Status.CLAIMED):
        raise _transition_error(demand, DemandStep.Action.ASSIGNED)
    if selectors.approved_member_in(member.user, demand.community_id) is None:
        raise field_error("member", _("该党员未在本社区报到"))
    if member.user_id == demand.requester_id:
        raise field_error("member", _("不能派给提出需求的人"))
    moderation.require_visible(demand)
    previous_status, previous_holder = demand.status, demand.claimed_by_id
    demand.status = Demand.Status.CLAIMED
    demand.claimed_by = member.user
    demand.claimed_organization = None
    demand.claimed_at = timezone.now()
    demand.save(update_fields=["status", "claimed_by", "claimed_organization", "claimed_at"])
    _step(
        demand,
        action=DemandStep.Action.ASSIGNED,
        from_status=previous_status,
        actor=by,
        assignee=member.user,
        note=note,
    )
    _announce(demand, action="assigned", actor=by, also=[previous_holder])
    return demand


def _may_work_on(user: User, demand: Demand) -> bool:
    return (
        demand.claimed_by_id == user.pk
        or (
            demand.claimed_organization_id is not None
            and demand.claimed_organization_id in get_scope(user).organization_ids
        )
        or can_act_on_community(user, demand.community_id)
    )


@transaction.atomic
def complete_demand(*, demand: Demand, by: User, note: str = "", evidence: Iterable[Any] = ()) -> Demand:
    demand = _lock_demand(demand)
    if demand.status != Demand.Status.CLAIMED:
        raise _transition_error(demand, DemandStep.Action.DONE)
    if not _may_work_on(by, demand):
        raise DomainError("permission_denied", _("只有认领人或社区工作人员可以办结"))
    evidence = list(evidence)
    if _blank(note) and not evidence:
        raise field_error("note", _("请填写完成情况或上传佐证材料"))
    demand.status = Demand.Status.DONE
    demand.done_at = timezone.now()
    demand.save(update_fields=["status", "done_at"])
    _step(
        demand,
        action=DemandStep.Action.DONE,
        from_status=Demand.Status.CLAIMED,
        actor=by,
        note=note.strip(),
        evidence=evidence,
    )
    _announce(demand, action="done", actor=by)
    return demand


def auto_confirm_after() -> timedelta:
    return timedelta(days=int(settings.DEMAND_AUTO_CONFIRM_DAYS))


def _confirm(demand: Demand, *, actor: User | None, note: str) -> Demand:
    demand.status = Demand.Status.CONFIRMED
    demand.confirmed_at = timezone.now()
    demand.save(update_fields=["status", "confirmed_at"])
    _step(demand, action=DemandStep.Action.CONFIRMED, from_status=Demand.Status.DONE, actor=actor, note=note)
    if demand.claimed_by_id is not None:
        award_points(
            user=demand.claimed_by,
            rule_code=DEMAND_COMPLETED_RULE,
            source=f"demand:{demand.pk}",
            community=demand.community,
        )
    _announce(demand, action="confirmed", actor=actor)
    return demand


@transaction.atomic
def confirm_demand(*, demand: Demand, by: User, note: str = "") -> Demand:
    """Whoever asked confirms the result; staff may confirm for them once the waiting period has passed."""
    demand = _lock_demand(demand)
    if demand.status != Demand.Status.DONE:
        raise _transition_error(demand, DemandStep.Action.CONFIRMED)
    if demand.requester_id != by.pk:
        if not can_act_on_community(by, demand.community_id):
            raise DomainError("permission_denied", _("只有提出人可以确认"))
        if demand.done_at > timezone.now() - auto_confirm_after():
            raise DomainError(
                "invalid_transition",
                _("办结未满 %(days)s 天, 需由提出人确认") % {"days": settings.DEMAND_AUTO_CONFIRM_DAYS},
            )
    return _confirm(demand, actor=by, note=note.strip())


def auto_confirm_due_demands(*, now: dt.datetime | None = None) -> int:
    """Confirm demands done longer ago than the waiting period; safe to run twice (each re-checks under lock)."""
    confirmed = 0
    for demand_id in list(selectors.demands_due_for_auto_confirmation(now=now).values_list("id", flat=True)):
        with transaction.atomic():
            demand = _lock_demand(Demand(pk=demand_id))
            cutoff = (now or timezone.now()) - auto_confirm_after()
            if demand.status != Demand.Status.DONE or demand.done_at > cutoff:
                continue
            _confirm(demand, actor=None, note=_("办结后逾期未确认, 系统自动确认"))
            confirmed += 1
    return confirmed


def require_canceller(user: User, demand: Demand) -> None:
    """The requester or the community's staff cancel a demand (views ask before reading the body)."""
    if demand.requester_id != user.pk and not can_act_on_community(user, demand.community_id):
        raise DomainError("permission_denied", _("只有提出人或社区工作人员可以取消"))


def require_may_offer_resources(user: User) -> None:
    """Who may list a resource anywhere: staff, a unit's liaison or a registered member. The view
    asks before reading the body; offer_resource checks the community and unit it names."""
    scope = get_scope(user)
    if not (scope.is_staff or scope.organization_ids or selectors.approved_member_anywhere(user)):
        raise DomainError("permission_denied", _("只有在本社区报到的党员、共建单位或社区工作人员可以登记资源"))


@transaction.atomic
def cancel_demand(*, demand: Demand, by: User, reason: str = "") -> Demand:
    demand = _lock_demand(demand)
    if demand.status not in (Demand.Status.OPEN, Demand.Status.CLAIMED):
        raise _transition_error(demand, DemandStep.Action.CANCELLED)
    require_canceller(by, demand)
    previous = demand.status
    demand.status = Demand.Status.CANCELLED
    demand.cancelled_at = timezone.now()
    demand.save(update_fields=["status", "cancelled_at"])
    _step(demand, action=DemandStep.Action.CANCELLED, from_status=previous, actor=by, note=reason.strip())
    _announce(demand, action="cancelled", actor=by)
    return demand


# 三单: resources and projects -----------------------------------------------------------------


@transaction.atomic
def offer_resource(
    *,
    user: User,
    community: Community,
    title: str,
    category: str = Resource.Category.OTHER,
    description: str = "",
    organization: PartyOrganization | None = None,
) -> Resource:
    """资源清单: a registered unit (through its liaison), a registered member, or staff list an offer."""
    is_staff = can_act_on_community(user, community.pk)
    if organization is not None:
        is_liaison = organization.pk in get_scope(user).organization_ids and selectors.unit_registered_with(
            organization.pk, community.pk
        )
        if not (is_liaison or (is_staff and organization.is_unit)):
            raise field_error("organization", _("只能以已向本社区报到、且由您联络的单位名义登记"))
    elif not is_staff and selectors.approved_member_in(user, community.pk) is None:
        raise DomainError("permission_denied", _("只有在本社区报到的党员、共建单位或社区工作人员可以登记资源"))
    resource = Resource.objects.create(
        community=community,
        title=title,
        category=category,
        description=description,
        offered_by=user,
        organization=organization,
    )
    _check_resource(resource, by=user)
    return resource


def _check_resource(resource: Resource, *, by: User) -> None:
    moderation.submit(resource, author=by, community_id=resource.community_id, texts={"text": ("title", "description")})


RESOURCE_EDITABLE = {"title", "category", "description", "is_active"}


@transaction.atomic
def update_resource(*, resource: Resource, by: User, **changes: Any) -> Resource:
    unknown = set(changes) - RESOURCE_EDITABLE
    if unknown:
        raise ValueError(f"not editable: {sorted(unknown)}")
    resource = Resource.objects.select_for_update().get(pk=resource.pk)
    may = (
        resource.offered_by_id == by.pk
        or (resource.organization_id is not None and resource.organization_id in get_scope(by).organization_ids)
        or can_act_on_community(by, resource.community_id)
    )
    if not may:
        raise DomainError("permission_denied", _("只能修改自己登记的资源"))
    for field, value in changes.items():
        setattr(resource, field, value)
    if changes:
        resource.save(update_fields=[*changes, "updated_at"])
    # Unchanged text keeps its verdict; changed text is checked again before others see it.
    _check_resource(resource, by=by)
    return resource


def _check_project_links(community_id: int, demands: Iterable[Demand], resources: Iterable[Resource]) -> None:
    if any(d.community_id != community_id for d in demands):
        raise field_error("demands", _("需求须属于本社区"))
    if any(r.community_id != community_id for r in resources):
        raise field_error("resources", _("资源须属于本社区"))


def _check_owner(owner: User, community_id: int) -> None:
    if not selectors.community_user_may_lead(owner, community_id):
        raise field_error("owner", _("负责人须为本社区工作人员、报到党员或共建单位联络员"))


@transaction.atomic
def create_project(
    *,
    by: User,
    community: Community,
    name: str,
    owner: User,
    description: str = "",
    status: str = ServiceProject.Status.PLANNED,
    starts_on: dt.date | None = None,
    ends_on: dt.date | None = None,
    demands: Iterable[Demand] = (),
    resources: Iterable[Resource] = (),
) -> ServiceProject:
    """项目清单: staff match demands with resources in a project and name its owner."""
    _require_staff_of(by, community.pk)
    demands, resources = list(demands), list(resources)
    _check_project_links(community.pk, demands, resources)
    _check_owner(owner, community.pk)
    if starts_on and ends_on and ends_on < starts_on:
        raise field_error("ends_on", _("结束日期不能早于开始日期"))
    project = ServiceProject.objects.create(
        community=community,
        name=name,
        owner=owner,
        description=description,
        status=status,
        starts_on=starts_on,
        ends_on=ends_on,
        created_by=by,
    )
    project.demands.set(demands)
    project.resources.set(resources)
    _check_project(project, by=by)
    return project


def _check_project(project: ServiceProject, *, by: User) -> None:
    moderation.submit(project, author=by, community_id=project.community_id, texts={"text": ("name", "description")})


PROJECT_EDITABLE = {"name", "description", "status", "starts_on", "ends_on", "owner", "demands", "resources"}


@transaction.atomic
def update_project(*, project: ServiceProject, by: User, **changes: Any) -> ServiceProject:
    unknown = set(changes) - PROJECT_EDITABLE
    if unknown:
        raise ValueError(f"not editable: {sorted(unknown)}")
    project = ServiceProject.objects.select_for_update().get(pk=project.pk)
    is_staff = can_act_on_community(by, project.community_id)
    if not is_staff and project.owner_id != by.pk:
        raise DomainError("permission_denied", _("只有负责人或社区工作人员可以修改项目"))
    if "owner" in changes and not is_staff:
        raise DomainError("permission_denied", _("只有社区工作人员可以更换负责人"))
    demands = changes.pop("demands", None)
    resources = changes.pop("resources", None)
    demands = list(demands) if demands is not None else None
    resources = list(resources) if resources is not None else None
    _check_project_links(project.community_id, demands or [], resources or [])
    if "owner" in changes:
        _check_owner(changes["owner"], project.community_id)
    starts_on = changes.get("starts_on", project.starts_on)
    ends_on = changes.get("ends_on", project.ends_on)
    if starts_on and ends_on and ends_on < starts_on:
        raise field_error("ends_on", _("结束日期不能早于开始日期"))
    for field, value in changes.items():
        setattr(project, field, value)
    project.save()
    if demands is not None:
        project.demands.set(demands)
    if resources is not None:
        project.resources.set(resources)
    _check_project(project, by=by)
    return project


# Points ---------------------------------------------------------------------------------------


def _lock_member_of(user_id: int) -> PartyMember | None:
    # Awards and corrections for one member queue on their row, so caps and the floor see every sum.
    return PartyMember.objects.select_for_update().filter(user_id=user_id).first()


@transaction.atomic
def award_points(
    *,
    member: PartyMember | None = None,
    user: User | None = None,
    rule_code: str,
    source: str,
    year: int | None = None,
    community: Community | None = None,
) -> PointsEntry | None:
    """Award a member the points a rule gives for an event (`source`, e.g. "activity:12").

    The same (member, rule, source) again answers with the first entry. The rule's yearly cap
    limits positive awards (a partial award fills it up); a negative rule never takes a year's
    total below zero. Users who are not members (no approved registration), and rules that are missing or switched
    off, get nothing (None). `community` says whose street's rules apply (default: where the
    member is registered).
    """
    if (member is None) == (user is None):
        raise ValueError("give exactly one of member or user")
    user_id = member.user_id if member is not None else user.pk
    member = _lock_member_of(user_id)
    # Only a member with an approved registration earns points: an applicant's claim earns nothing.
    if member is None or member.organization_id is None:
        return None
    existing = PointsEntry.objects.filter(
        user_id=user_id, kind=PointsEntry.Kind.AWARD, rule_code=rule_code, source=source
    ).first()
    if existing is not None:
        return existing
    street_id = community.street_id if community is not None else selectors.member_street_id(member)
    rule = selectors.rule_for(code=rule_code, street_id=street_id)
    if rule is None:
        return None
    year = year or selectors.current_year()
    requested = rule.points
    points = requested
    if requested > 0 and rule.yearly_cap is not None:
        so_far = selectors.rule_points_in_year(user_id=user_id, rule_code=rule_code, year=year)
        points = min(requested, max(0, rule.yearly_cap - so_far))
        if points == 0:
            return None
    elif requested < 0:
        points = max(requested, -selectors.points_total(user_id, year=year))
    try:
        with transaction.atomic():
            return PointsEntry.objects.create(
                user_id=user_id,
                kind=PointsEntry.Kind.AWARD,
                rule=rule,
                rule_code=rule_code,
                source=source,
                points=points,
                requested_points=requested,
                year=year,
                reason=rule.name,
            )
    except IntegrityError:
        return PointsEntry.objects.get(user_id=user_id, kind=PointsEntry.Kind.AWARD, rule_code=rule_code, source=source)


@transaction.atomic
def save_points_rule(
    *,
    by: User,
    rule: PointsRule | None,
    street: Street | None,
    code: str,
    name: str,
    points: int,
    yearly_cap: int | None,
    is_active: bool,
) -> PointsRule:
    """Create (rule None) or change a points rule. Street admins keep their street's rules (one with
    a global rule's code overrides it there); the global defaults (no street) are the superusers'.
    Entries already awarded keep their points: the ledger is never rewritten."""
    scope = get_scope(by)
    if not scope.is_superuser:
        if rule is not None:
            rule = PointsRule.objects.select_for_update().get(pk=rule.pk)
            if rule.street_id is None or rule.street_id not in scope.street_ids:
                raise DomainError("permission_denied", _("全局积分规则由系统管理员维护"))
        if street is None or street.pk not in scope.street_ids:
            raise DomainError("permission_denied", _("只能维护本街道的积分规则"))
    if _blank(code) or _blank(name):
        raise field_error("code" if _blank(code) else "name", _("请填写规则代码和名称"))
    target = rule or PointsRule()
    target.street, target.code, target.name = street, code.strip(), name.strip()
    target.points, target.yearly_cap, target.is_active = points, yearly_cap, is_active
    try:
        with transaction.atomic():
            target.save()
    except IntegrityError:
        raise field_error("code", _("该街道已有同代码的规则")) from None
    return target


@transaction.atomic
def correct_points(
    *, member: PartyMember, points: int, reason: str, by: User | None, year: int | None = None
) -> PointsEntry:
    """A correction is a new entry, never an edit. A deduction below zero is clamped to the year's
    total; the entry keeps what was asked (`requested_points`) beside what was applied."""
    if by is not None and not selectors.member_in_staff_scope(by, member):
        raise DomainError("permission_denied", _("只能更正本社区党员的积分"))
    if points == 0:
        raise field_error("points", _("更正分值不能为 0"))
    if _blank(reason):
        raise field_error("reason", _("请填写更正原因"))
    member = _lock_member_of(member.user_id)
    year = year or selectors.current_year()
    applied = points if points > 0 else max(points, -selectors.points_total(member.user_id, year=year))
    return PointsEntry.objects.create(
        user_id=member.user_id,
        kind=PointsEntry.Kind.CORRECTION,
        rule=None,
        rule_code="",
        source=f"correction:{getattr(by, 'pk', 'system')}",
        points=applied,
        requested_points=points,
        year=year,
        reason=reason.strip(),
        created_by=by,
    )
