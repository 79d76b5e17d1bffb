"""The rules of red property: who keeps what, the estate's governance, committees, meetings, scores.

Who may write:
- an estate's governance, committees, 三方联动 meetings, assessments and self-governance: the
  staff of the estate's community and the admins of its street; naming a 红色物业示范小区
  (`is_red_property`) is the street's call, so only its admins change that flag;
- the property company register: the staff of the company's street (its admins and the staff of
  its communities); removing a company from it: the street's admins, and only while it manages
  no estate;
- the assessment sheet (items and the demonstration line): the street's admins.

Views have already answered 404 for objects outside the caller's scope; the checks here hold for
any caller (the console, commands, tests).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from decimal import Decimal
from typing import Any, TypeVar

from django.db import IntegrityError, transaction
from django.db.models import Max, Model
from django.utils.translation import gettext as _

from backend.communities import services as map_services
from backend.communities.models import Community, Estate, PartyOrganization, Street
from backend.core import credit_code
from backend.core.errors import DomainError, field_error
from backend.core.scoping import can_act_on_community, get_scope

from . import selectors
from .models import (
    AssessmentItem,
    AssessmentScore,
    AssessmentStandard,
    CommitteeRole,
    EstateAssessment,
    EstateGovernance,
    FollowUpItem,
    JointMeeting,
    JointMeetingParticipant,
    OwnersCommittee,
    OwnersCommitteeMember,
    PropertyCompany,
    ResidentsCommittee,
    ResidentsCommitteeMember,
    SelfGovernanceGroup,
    SelfGovernanceMeeting,
    SelfGovernanceMember,
)

COMPANY_FIELDS = {
    "name",
    "credit_code",
    "street",
    "address",
    "contact_name",
    "contact_phone",
    "party_organization",
    "party_member_count",
}
GOVERNANCE_FIELDS = {
    "property_company",
    "party_organization",
    "owners_committee_required_override",
    "is_red_property",
    "red_property_since",
    "notes",
    "has_property_service",
}
TERM_FIELDS = {"term_start", "term_end", "notes"}
MEETING_FIELDS = {"held_on", "place", "topics", "decisions"}
FOLLOW_UP_FIELDS = {"content", "owner", "due_date", "done_on"}
ITEM_FIELDS = {"category", "name", "max_points", "guidance", "position"}
GROUP_FIELDS = TERM_FIELDS | {"name"}
GROUP_MEETING_FIELDS = {"held_on", "topics", "minutes", "attendee_count"}
MEMBER_KEYS = ("name", "role", "phone", "is_party_member", "also_in_party_organisation")


def _denied(detail: str) -> DomainError:
    return DomainError("permission_denied", detail)


def _user_or_none(actor: Any) -> Any:
    return actor if getattr(actor, "is_authenticated", False) else None


def _check_fields(changes: Mapping[str, Any], allowed: set[str], what: str) -> None:
    unknown = set(changes) - allowed
    if unknown:
        raise ValueError(f"not {what} fields: {sorted(unknown)}")


def _require_community(actor: Any, community_id: int) -> None:
    if not can_act_on_community(actor, community_id):
        raise _denied(_("只能处理本社区(街道)的事务"))


def _is_street_admin_of(actor: Any, street_id: int) -> bool:
    scope = get_scope(actor)
    return scope.is_superuser or street_id in scope.street_ids


def _require_street_admin(actor: Any, street_id: int) -> None:
    if not _is_street_admin_of(actor, street_id):
        raise _denied(_("需要该街道的管理员权限"))


def _lock_estate(estate: Estate) -> Estate:
    return Estate.objects.select_for_update(of=("self",)).select_related("community").get(pk=estate.pk)


def _not_in_future(field: str, value: date | None) -> None:
    if value is not None and value > selectors.today():
        raise field_error(field, _("日期不能晚于今天"))


def _check_term(term_start: date, term_end: date) -> None:
    if term_end <= term_start:
        raise field_error("term_end", _("任期结束应晚于任期开始"))


# Property companies -----------------------------------------------------------------------------


def can_keep_register(*, user: Any, street_id: int) -> bool:
    """The staff of the street: its admins and the staff of its communities."""
    streets = selectors.reachable_street_ids(user)
    return streets is None or street_id in streets


def _clean_credit_code(value: str) -> str:
    try:
        return credit_code.validate(value)
    except credit_code.InvalidCreditCode as exc:
        raise field_error("credit_code", exc.reason) from None


def _save_company(company: PropertyCompany) -> PropertyCompany:
    if PropertyCompany.objects.filter(credit_code=company.credit_code).exclude(pk=company.pk).exists():
        raise field_error("credit_code", _("该统一社会信用代码已登记"))
    try:
        with transaction.atomic():
            company.save()
    except IntegrityError:  # the same code registered at the same moment
        raise field_error("credit_code", _("该统一社会信用代码已登记")) from None
    return company


@transaction.atomic
def create_property_company(
    *,
    actor: Any,
    name: str,
    credit_code: str,
    street: Street,
    address: str = "",
    contact_name: str = "",
    contact_phone: str = "",
    party_organization: PartyOrganization | None = None,
    party_member_count: int = 0,
) -> PropertyCompany:
    if not can_keep_register(user=actor, street_id=street.pk):
        raise _denied(_("只能登记本街道的物业公司"))
    company = PropertyCompany(
        name=name,
        credit_code=_clean_credit_code(credit_code),
        street=street,
        address=address,
        contact_name=contact_name,
        contact_phone=contact_phone,
        party_organization=party_organization,
        party_member_count=party_member_count,
        created_by=_user_or_none(actor),
    )
    return _save_company(company)


@transaction.atomic
def update_property_company(*, actor: Any, company: PropertyCompany, **changes: Any) -> PropertyCompany:
    _check_fields(changes, COMPANY_FIELDS, "property company")
    company = PropertyCompany.objects.select_for_update().get(pk=company.pk)
    if not can_keep_register(user=actor, street_id=company.street_id):
        raise _denied(_("只能修改本街道登记的物业公司"))
    if "street" in changes and not can_keep_register(user=actor, street_id=changes["street"].pk):
        raise field_error("street", _("只能转到本人所在的街道"))
    if "credit_code" in changes:
        changes["credit_code"] = _clean_credit_code(changes["credit_code"])
    for name, value in changes.items():
        setattr(company, name, value)
    return _save_company(company)


@transaction.atomic
def delete_property_company(*, actor: Any, company: PropertyCompany) -> None:
    company = PropertyCompany.objects.select_for_update().get(pk=company.pk)
    _require_street_admin(actor, company.street_id)
    if EstateGovernance.objects.filter(property_company=company).exists():
        raise DomainError("conflict", _("该物业公司仍在服务小区, 请先在小区治理中更换或移除"))
    company.delete()


# Estate governance ------------------------------------------------------------------------------


@transaction.atomic
def update_estate_governance(*, actor: Any, estate: Estate, **changes: Any) -> EstateGovernance:
    """Change an estate's governance, creating it on first write.

    Keeping the map in agreement: a company recorded ⇒ the estate has property service; the
    company removed ⇒ 无物业小区, unless `has_property_service=True` comes with it (served by a
    company not on the register). `has_property_service=False` with a company is refused.
    """
    _check_fields(changes, GOVERNANCE_FIELDS, "governance")
    estate = _lock_estate(estate)
    _require_community(actor, estate.community_id)
    governance, _created = EstateGovernance.objects.select_for_update().get_or_create(estate=estate)
    had_company = governance.property_company_id is not None
    wanted_service = changes.pop("has_property_service", None)

    if "is_red_property" in changes or "red_property_since" in changes:
        _require_street_admin(actor, estate.community.street_id)
    organization = changes.get("party_organization")
    if organization is not None and (organization.is_unit or organization.community_id != estate.community_id):
        raise field_error("party_organization", _("应为本小区所在社区的党组织"))

    for name, value in changes.items():
        setattr(governance, name, value)
    if governance.is_red_property and governance.red_property_since is None:
        governance.red_property_since = selectors.today()
    if not governance.is_red_property:
        if changes.get("red_property_since") is not None:
            raise field_error("red_property_since", _("未命名为示范小区, 不能填写命名日期"))
        governance.red_property_since = None
    _not_in_future("red_property_since", governance.red_property_since)

    has_company = governance.property_company_id is not None
    if has_company and wanted_service is False:
        raise field_error("has_property_service", _("已登记物业公司的小区不能设为无物业小区"))
    if has_company:
        service = True
    elif wanted_service is not None:
        service = wanted_service
    elif had_company:
        service = False
    else:
        service = estate.has_property_service
    governance.updated_by = _user_or_none(actor)
    governance.save()
    if service != estate.has_property_service:
        map_services.update_estate(estate=estate, has_property_service=service)
    return governance


# Committees (业委会, 居委会) and their members ------------------------------------------------------


def _clean_members(members: Sequence[Mapping[str, Any]], *, head_role: str, head_label: str) -> list[dict]:
    cleaned = [{key: member[key] for key in MEMBER_KEYS if key in member} for member in members]
    if sum(1 for member in cleaned if member.get("role") == head_role) > 1:
        raise field_error("members", _("只能有一名{role}").format(role=head_label))
    return cleaned


def _replace_members(parent: Model, model: type[Model], link: str, members: list[dict]) -> None:
    model.objects.filter(**{link: parent}).delete()
    model.objects.bulk_create([model(**{link: parent}, **member) for member in members])


def _check_no_overlap(terms: Any, *, term_start: date, term_end: date, exclude_pk: int | None = None) -> None:
    overlapping = terms.filter(term_start__lte=term_end, term_end__gte=term_start)
    if exclude_pk is not None:
        overlapping = overlapping.exclude(pk=exclude_pk)
    if overlapping.exists():
        raise field_error("term_start", _("任期与已登记的一届重叠"))


OWNERS_HEAD = (CommitteeRole.DIRECTOR, "主任")
Committee = TypeVar("Committee", OwnersCommittee, ResidentsCommittee)


def _create_committee(
    model: type[Committee],
    member_model: type[Any],
    *,
    actor: Any,
    place: dict[str, Any],
    community_id: int,
    term_start: date,
    term_end: date,
    members: Sequence[Mapping[str, Any]],
    notes: str,
) -> Committee:
    """A committee's new term for its place (`{"estate": …}` or `{"community": …}`, locked by the
    caller), with its members; terms of one place never overlap."""
    _require_community(actor, community_id)
    _check_term(term_start, term_end)
    cleaned = _clean_members(members, head_role=OWNERS_HEAD[0], head_label=OWNERS_HEAD[1])
    _check_no_overlap(model.objects.filter(**place), term_start=term_start, term_end=term_end)
    committee = model.objects.create(
        **place, term_start=term_start, term_end=term_end, notes=notes, created_by=_user_or_none(actor)
    )
    _replace_members(committee, member_model, "committee", cleaned)
    return committee


def _update_committee(
    committee: Committee,
    member_model: type[Any],
    *,
    actor: Any,
    place: dict[str, Any],
    community_id: int,
    members: Sequence[Mapping[str, Any]] | None,
    changes: dict[str, Any],
) -> Committee:
    _check_fields(changes, TERM_FIELDS, "committee")
    _require_community(actor, community_id)
    model = type(committee)
    committee = model.objects.select_for_update().get(pk=committee.pk)
    for name, value in changes.items():
        setattr(committee, name, value)
    _check_term(committee.term_start, committee.term_end)
    _check_no_overlap(
        model.objects.filter(**place),
        term_start=committee.term_start,
        term_end=committee.term_end,
        exclude_pk=committee.pk,
    )
    committee.save()
    if members is not None:
        cleaned = _clean_members(members, head_role=OWNERS_HEAD[0], head_label=OWNERS_HEAD[1])
        _replace_members(committee, member_model, "committee", cleaned)
    return committee


@transaction.atomic
def create_owners_committee(
    *,
    actor: Any,
    estate: Estate,
    term_start: date,
    term_end: date,
    members: Sequence[Mapping[str, Any]] = (),
    notes: str = "",
) -> OwnersCommittee:
    estate = _lock_estate(estate)
    return _create_committee(
        OwnersCommittee,
        OwnersCommitteeMember,
        actor=actor,
        place={"estate": estate},
        community_id=estate.community_id,
        term_start=term_start,
        term_end=term_end,
        members=members,
        notes=notes,
    )


@transaction.atomic
def update_owners_committee(
    *, actor: Any, committee: OwnersCommittee, members: Sequence[Mapping[str, Any]] | None = None, **changes: Any
) -> OwnersCommittee:
    """Change the term or notes; `members`, when given, replaces the whole list."""
    estate = _lock_estate(committee.estate)
    return _update_committee(
        committee,
        OwnersCommitteeMember,
        actor=actor,
        place={"estate": estate},
        community_id=estate.community_id,
        members=members,
        changes=changes,
    )


@transaction.atomic
def delete_owners_committee(*, actor: Any, committee: OwnersCommittee) -> None:
    committee = OwnersCommittee.objects.select_for_update(of=("self",)).select_related("estate").get(pk=committee.pk)
    _require_community(actor, committee.estate.community_id)
    committee.delete()


def _lock_community(community: Community) -> Community:
    return Community.objects.select_for_update().get(pk=community.pk)


@transaction.atomic
def create_residents_committee(
    *,
    actor: Any,
    community: Community,
    term_start: date,
    term_end: date,
    members: Sequence[Mapping[str, Any]] = (),
    notes: str = "",
) -> ResidentsCommittee:
    community = _lock_community(community)
    return _create_committee(
        ResidentsCommittee,
        ResidentsCommitteeMember,
        actor=actor,
        place={"community": community},
        community_id=community.pk,
        term_start=term_start,
        term_end=term_end,
        members=members,
        notes=notes,
    )


@transaction.atomic
def update_residents_committee(
    *, actor: Any, committee: ResidentsCommittee, members: Sequence[Mapping[str, Any]] | None = None, **changes: Any
) -> ResidentsCommittee:
    community = _lock_community(committee.community)
    return _update_committee(
        committee,
        ResidentsCommitteeMember,
        actor=actor,
        place={"community": community},
        community_id=community.pk,
        members=members,
        changes=changes,
    )


@transaction.atomic
def delete_residents_committee(*, actor: Any, committee: ResidentsCommittee) -> None:
    committee = ResidentsCommittee.objects.select_for_update().get(pk=committee.pk)
    _require_community(actor, committee.community_id)
    committee.delete()


# 三方联动 ----------------------------------------------------------------------------------------

PARTICIPANT_KEYS = ("side", "name", "title")
FOLLOW_UP_KEYS = ("content", "owner", "due_date")


def _clean_participants(participants: Sequence[Mapping[str, Any]]) -> list[dict]:
    if not participants:
        raise field_error("participants", _("请填写参会人员"))
    return [{key: p[key] for key in PARTICIPANT_KEYS if key in p} for p in participants]


def _check_follow_up_dates(*, held_on: date, due_date: date | None, done_on: date | None, prefix: str = "") -> None:
    if due_date is not None and due_date < held_on:
        raise field_error(f"{prefix}due_date", _("完成期限不能早于会议日期"))
    if done_on is not None:
        if done_on < held_on:
            raise field_error(f"{prefix}done_on", _("完成日期不能早于会议日期"))
        _not_in_future(f"{prefix}done_on", done_on)


@transaction.atomic
def create_joint_meeting(
    *,
    actor: Any,
    estate: Estate,
    held_on: date,
    topics: str,
    participants: Sequence[Mapping[str, Any]],
    place: str = "",
    decisions: str = "",
    follow_ups: Sequence[Mapping[str, Any]] = (),
) -> JointMeeting:
    estate = _lock_estate(estate)
    _require_community(actor, estate.community_id)
    _not_in_future("held_on", held_on)
    cleaned = _clean_participants(participants)
    items = [{key: f[key] for key in FOLLOW_UP_KEYS} for f in follow_ups]
    for index, item in enumerate(items):
        _check_follow_up_dates(held_on=held_on, due_date=item["due_date"], done_on=None, prefix=f"follow_ups.{index}.")
    meeting = JointMeeting.objects.create(
        estate=estate,
        held_on=held_on,
        place=place,
        topics=topics,
        decisions=decisions,
        created_by=_user_or_none(actor),
    )
    _replace_members(meeting, JointMeetingParticipant, "meeting", cleaned)
    FollowUpItem.objects.bulk_create([FollowUpItem(meeting=meeting, **item) for item in items])
    return meeting


@transaction.atomic
def update_joint_meeting(
    *,
    actor: Any,
    meeting: JointMeeting,
    participants: Sequence[Mapping[str, Any]] | None = None,
    **changes: Any,
) -> JointMeeting:
    """Change the record; `participants`, when given, replaces the whole list."""
    _check_fields(changes, MEETING_FIELDS, "meeting")
    meeting = JointMeeting.objects.select_for_update(of=("self",)).select_related("estate").get(pk=meeting.pk)
    _require_community(actor, meeting.estate.community_id)
    for name, value in changes.items():
        setattr(meeting, name, value)
    if "held_on" in changes:
        _not_in_future("held_on", meeting.held_on)
        earliest_due = meeting.follow_ups.order_by("due_date").values_list("due_date", flat=True).first()
        if earliest_due is not None and earliest_due < meeting.held_on:
            raise field_error("held_on", _("会议日期不能晚于跟进事项的完成期限"))
    meeting.save()
    if participants is not None:
        _replace_members(meeting, JointMeetingParticipant, "meeting", _clean_participants(participants))
    return meeting


@transaction.atomic
def delete_joint_meeting(*, actor: Any, meeting: JointMeeting) -> None:
    meeting = JointMeeting.objects.select_for_update(of=("self",)).select_related("estate").get(pk=meeting.pk)
    _require_community(actor, meeting.estate.community_id)
    meeting.delete()


@transaction.atomic
def add_follow_up(*, actor: Any, meeting: JointMeeting, content: str, owner: str, due_date: date) -> FollowUpItem:
    meeting = JointMeeting.objects.select_for_update(of=("self",)).select_related("estate").get(pk=meeting.pk)
    _require_community(actor, meeting.estate.community_id)
    _check_follow_up_dates(held_on=meeting.held_on, due_date=due_date, done_on=None)
    return FollowUpItem.objects.create(meeting=meeting, content=content, owner=owner, due_date=due_date)


@transaction.atomic
def update_follow_up(*, actor: Any, item: FollowUpItem, **changes: Any) -> FollowUpItem:
    """Edit an item or mark it done (`done_on`, not in the future) or open again (`done_on=None`)."""
    _check_fields(changes, FOLLOW_UP_FIELDS, "follow-up")
    item = FollowUpItem.objects.select_for_update(of=("self",)).select_related("meeting__estate").get(pk=item.pk)
    _require_community(actor, item.meeting.estate.community_id)
    for name, value in changes.items():
        setattr(item, name, value)
    _check_follow_up_dates(held_on=item.meeting.held_on, due_date=item.due_date, done_on=item.done_on)
    item.save()
    return item


@transaction.atomic
def delete_follow_up(*, actor: Any, item: FollowUpItem) -> None:
    item = FollowUpItem.objects.select_for_update(of=("self",)).select_related("meeting__estate").get(pk=item.pk)
    _require_community(actor, item.meeting.estate.community_id)
    item.delete()


# Assessment: the street's sheet and line, and each estate's scores --------------------------------


@transaction.atomic
def create_assessment_standard(
    *, actor: Any, street: Street, year: int, demonstration_threshold: Decimal
) -> AssessmentStandard:
    _require_street_admin(actor, street.pk)
    if AssessmentStandard.objects.filter(street=street, year=year).exists():
        raise field_error("year", _("该街道本年度已设分数线, 请修改原记录"))
    try:
        with transaction.atomic():
            return AssessmentStandard.objects.create(
                street=street, year=year, demonstration_threshold=demonstration_threshold
            )
    except IntegrityError:
        raise field_error("year", _("该街道本年度已设分数线, 请修改原记录")) from None


@transaction.atomic
def update_assessment_standard(
    *, actor: Any, standard: AssessmentStandard, demonstration_threshold: Decimal | None = None
) -> AssessmentStandard:
    standard = AssessmentStandard.objects.select_for_update().get(pk=standard.pk)
    _require_street_admin(actor, standard.street_id)
    if demonstration_threshold is not None:
        standard.demonstration_threshold = demonstration_threshold
        standard.save()
    return standard


@transaction.atomic
def delete_assessment_standard(*, actor: Any, standard: AssessmentStandard) -> None:
    _require_street_admin(actor, standard.street_id)
    standard.delete()


def _save_item(item: AssessmentItem) -> AssessmentItem:
    duplicate = AssessmentItem.objects.filter(
        street_id=item.street_id, year=item.year, category=item.category, name=item.name
    ).exclude(pk=item.pk)
    if duplicate.exists():
        raise field_error("name", _("本年度该类别下已有同名考评项目"))
    try:
        with transaction.atomic():
            item.save()
    except IntegrityError:
        raise field_error("name", _("本年度该类别下已有同名考评项目")) from None
    return item


@transaction.atomic
def create_assessment_item(
    *,
    actor: Any,
    street: Street,
    year: int,
    category: str,
    name: str,
    max_points: Decimal,
    guidance: str = "",
    position: int = 0,
) -> AssessmentItem:
    _require_street_admin(actor, street.pk)
    item = AssessmentItem(
        street=street,
        year=year,
        category=category,
        name=name,
        max_points=max_points,
        guidance=guidance,
        position=position,
    )
    return _save_item(item)


@transaction.atomic
def update_assessment_item(*, actor: Any, item: AssessmentItem, **changes: Any) -> AssessmentItem:
    """Edit a line of the sheet. Its full marks cannot drop below a score already given for it."""
    _check_fields(changes, ITEM_FIELDS, "assessment item")
    # Scoring locks the item too, so no score above the new maximum can slip in meanwhile.
    item = AssessmentItem.objects.select_for_update().get(pk=item.pk)
    _require_street_admin(actor, item.street_id)
    if "max_points" in changes:
        highest = item.scores.aggregate(highest=Max("points"))["highest"]
        if highest is not None and changes["max_points"] < highest:
            raise field_error("max_points", _("已有小区在此项得分 {points}, 满分不能低于该分").format(points=highest))
    for name, value in changes.items():
        setattr(item, name, value)
    return _save_item(item)


@transaction.atomic
def delete_assessment_item(*, actor: Any, item: AssessmentItem) -> None:
    item = AssessmentItem.objects.select_for_update().get(pk=item.pk)
    _require_street_admin(actor, item.street_id)
    if item.scores.exists():
        raise DomainError("conflict", _("已有小区按此项评分, 不能删除; 可修改其内容"))
    item.delete()


def _apply_scores(assessment: EstateAssessment, street_id: int, scores: Sequence[Mapping[str, Any]]) -> None:
    """Upsert one score per item; `points: None` removes the item's score."""
    item_ids = [score["item"].pk for score in scores]
    if len(set(item_ids)) != len(item_ids):
        raise field_error("scores", _("同一考评项目只能评一次分"))
    items = {item.pk: item for item in AssessmentItem.objects.select_for_update().filter(pk__in=item_ids)}
    existing = {s.item_id: s for s in AssessmentScore.objects.filter(assessment=assessment, item_id__in=item_ids)}
    for index, score in enumerate(scores):
        item = items[score["item"].pk]
        if item.street_id != street_id or item.year != assessment.year:
            raise field_error(f"scores.{index}.item", _("不是本街道本年度的考评项目"))
        points = score.get("points")
        row = existing.get(item.pk)
        if points is None:
            if row is not None:
                row.delete()
            continue
        if points < 0 or points > item.max_points:
            raise field_error(f"scores.{index}.points", _("得分应在 0 到 {max} 之间").format(max=item.max_points))
        if row is None:
            AssessmentScore.objects.create(assessment=assessment, item=item, points=points, note=score.get("note", ""))
        else:
            row.points = points
            if "note" in score:
                row.note = score["note"]
            row.save()


@transaction.atomic
def create_assessment(
    *,
    actor: Any,
    estate: Estate,
    year: int,
    scores: Sequence[Mapping[str, Any]] = (),
    notes: str = "",
) -> EstateAssessment:
    estate = _lock_estate(estate)
    _require_community(actor, estate.community_id)
    if EstateAssessment.objects.filter(estate=estate, year=year).exists():
        raise field_error("year", _("该小区本年度已有考评, 请修改原考评"))
    assessment = EstateAssessment.objects.create(
        estate=estate, year=year, notes=notes, assessed_by=_user_or_none(actor)
    )
    _apply_scores(assessment, estate.community.street_id, scores)
    return assessment


@transaction.atomic
def update_assessment(
    *,
    actor: Any,
    assessment: EstateAssessment,
    scores: Sequence[Mapping[str, Any]] | None = None,
    notes: str | None = None,
) -> EstateAssessment:
    """Give or change scores item by item (the items not mentioned keep theirs)."""
    assessment = (
        EstateAssessment.objects.select_for_update(of=("self",))
        .select_related("estate__community")
        .get(pk=assessment.pk)
    )
    _require_community(actor, assessment.estate.community_id)
    if notes is not None:
        assessment.notes = notes
    assessment.assessed_by = _user_or_none(actor)
    assessment.save()
    if scores:
        _apply_scores(assessment, assessment.estate.community.street_id, scores)
    return assessment


@transaction.atomic
def delete_assessment(*, actor: Any, assessment: EstateAssessment) -> None:
    assessment = EstateAssessment.objects.select_for_update(of=("self",)).select_related("estate").get(pk=assessment.pk)
    _require_community(actor, assessment.estate.community_id)
    assessment.delete()


# Self-governance of estates without property service ---------------------------------------------

GROUP_HEAD = (SelfGovernanceMember.Role.LEADER, "组长")


@transaction.atomic
def create_self_governance_group(
    *,
    actor: Any,
    estate: Estate,
    name: str,
    term_start: date,
    term_end: date,
    members: Sequence[Mapping[str, Any]] = (),
    notes: str = "",
) -> SelfGovernanceGroup:
    estate = _lock_estate(estate)
    _require_community(actor, estate.community_id)
    if estate.has_property_service:
        raise field_error("estate", _("该小区有物业服务, 居民自治小组用于无物业小区"))
    _check_term(term_start, term_end)
    cleaned = _clean_members(members, head_role=GROUP_HEAD[0], head_label=GROUP_HEAD[1])
    _check_no_overlap(SelfGovernanceGroup.objects.filter(estate=estate), term_start=term_start, term_end=term_end)
    group = SelfGovernanceGroup.objects.create(
        estate=estate,
        name=name,
        term_start=term_start,
        term_end=term_end,
        notes=notes,
        created_by=_user_or_none(actor),
    )
    _replace_members(group, SelfGovernanceMember, "group", cleaned)
    return group


@transaction.atomic
def update_self_governance_group(
    *, actor: Any, group: SelfGovernanceGroup, members: Sequence[Mapping[str, Any]] | None = None, **changes: Any
) -> SelfGovernanceGroup:
    _check_fields(changes, GROUP_FIELDS, "self-governance group")
    estate = _lock_estate(group.estate)
    _require_community(actor, estate.community_id)
    group = SelfGovernanceGroup.objects.select_for_update().get(pk=group.pk)
    for name, value in changes.items():
        setattr(group, name, value)
    _check_term(group.term_start, group.term_end)
    _check_no_overlap(
        SelfGovernanceGroup.objects.filter(estate=estate),
        term_start=group.term_start,
        term_end=group.term_end,
        exclude_pk=group.pk,
    )
    group.save()
    if members is not None:
        cleaned = _clean_members(members, head_role=GROUP_HEAD[0], head_label=GROUP_HEAD[1])
        _replace_members(group, SelfGovernanceMember, "group", cleaned)
    return group


@transaction.atomic
def delete_self_governance_group(*, actor: Any, group: SelfGovernanceGroup) -> None:
    group = SelfGovernanceGroup.objects.select_for_update(of=("self",)).select_related("estate").get(pk=group.pk)
    _require_community(actor, group.estate.community_id)
    group.delete()


@transaction.atomic
def record_self_governance_meeting(
    *,
    actor: Any,
    group: SelfGovernanceGroup,
    held_on: date,
    topics: str,
    minutes: str = "",
    attendee_count: int = 0,
) -> SelfGovernanceMeeting:
    group = SelfGovernanceGroup.objects.select_for_update(of=("self",)).select_related("estate").get(pk=group.pk)
    _require_community(actor, group.estate.community_id)
    _not_in_future("held_on", held_on)
    return SelfGovernanceMeeting.objects.create(
        group=group,
        held_on=held_on,
        topics=topics,
        minutes=minutes,
        attendee_count=attendee_count,
        created_by=_user_or_none(actor),
    )


@transaction.atomic
def update_self_governance_meeting(
    *, actor: Any, meeting: SelfGovernanceMeeting, **changes: Any
) -> SelfGovernanceMeeting:
    _check_fields(changes, GROUP_MEETING_FIELDS, "self-governance meeting")
    meeting = (
        SelfGovernanceMeeting.objects.select_for_update(of=("self",)).select_related("group__estate").get(pk=meeting.pk)
    )
    _require_community(actor, meeting.group.estate.community_id)
    if "held_on" in changes:
        _not_in_future("held_on", changes["held_on"])
    for name, value in changes.items():
        setattr(meeting, name, value)
    meeting.save()
    return meeting


@transaction.atomic
def delete_self_governance_meeting(*, actor: Any, meeting: SelfGovernanceMeeting) -> None:
    meeting = (
        SelfGovernanceMeeting.objects.select_for_update(of=("self",)).select_related("group__estate").get(pk=meeting.pk)
    )
    _require_community(actor, meeting.group.estate.community_id)
    meeting.delete()
