"""The points ledger: awards by rule (capped, never below zero), corrections, and the rules themselves."""

from __future__ import annotations

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from backend.accounts.models import User
from backend.accounts.scoping import get_scope
from backend.communities.models import Community, Street
from backend.core.errors import DomainError, field_error

from .. import selectors
from ..models import PartyMember, PointsEntry, PointsRule
from ._common import _blank


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

    Length: one award is one read of the rule and the year's total under a lock, then the capped
    entry; the steps share the lock and the figures, so they stay in one transaction's function.
    """
    if member is not None and user is None:
        user_id = member.user_id
    elif user is not None and member is None:
        user_id = user.pk
    else:
        raise ValueError("give exactly one of member or user")
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


def require_points_corrector(*, by: User, member: PartyMember) -> None:
    """Staff whose scope covers the member correct their points, never their own: the API asks
    before reading the rest of the body."""
    if not selectors.member_in_staff_scope(by, member):
        raise DomainError("permission_denied", _("只能更正本社区党员的积分"))
    if member.user_id == by.pk:
        raise DomainError("permission_denied", _("不能更正本人的积分"))


@transaction.atomic
def correct_points(
    *, member: PartyMember, points: int, reason: str, by: User | None, year: int | None = None
) -> PointsEntry:
    """A correction is a new entry, never an edit. A deduction below zero is clamped to the year's
    total; the entry keeps what was asked (`requested_points`) beside what was applied."""
    if by is not None:
        require_points_corrector(by=by, member=member)
    if points == 0:
        raise field_error("points", _("更正分值不能为 0"))
    if _blank(reason):
        raise field_error("reason", _("请填写更正原因"))
    _lock_member_of(member.user_id)
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
