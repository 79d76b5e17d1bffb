"""Assessment: the street's sheet (items) and demonstration line, and each estate's scores."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils.translation import gettext as _

from backend.accounts.models import User
from backend.communities.models import Estate, Street
from backend.core.errors import DomainError, field_error
from backend.core.scoping import get_scope

from ..models import (
    AssessmentItem,
    AssessmentScore,
    AssessmentStandard,
    EstateAssessment,
)
from ._common import (
    check_fields,
    lock_estate,
    require_community,
    require_street_admin,
    user_or_none,
)

ITEM_FIELDS = {"category", "name", "max_points", "guidance", "position"}


def may_keep_sheets(*, user: User) -> bool:
    """The assessment sheet and the demonstration line are the street's: only street admins write
    them (which street's, each service checks on the record)."""
    scope = get_scope(user)
    return scope.is_superuser or bool(scope.street_ids)


@transaction.atomic
def create_assessment_standard(
    *, by: User, street: Street, year: int, demonstration_threshold: Decimal
) -> AssessmentStandard:
    require_street_admin(by, street.pk)
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
    *, by: User, standard: AssessmentStandard, demonstration_threshold: Decimal | None = None
) -> AssessmentStandard:
    standard = AssessmentStandard.objects.select_for_update().get(pk=standard.pk)
    require_street_admin(by, standard.street_id)
    if demonstration_threshold is not None:
        standard.demonstration_threshold = demonstration_threshold
        standard.save()
    return standard


@transaction.atomic
def delete_assessment_standard(*, by: User, standard: AssessmentStandard) -> None:
    require_street_admin(by, standard.street_id)
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
    by: User,
    street: Street,
    year: int,
    category: str,
    name: str,
    max_points: Decimal,
    guidance: str = "",
    position: int = 0,
) -> AssessmentItem:
    require_street_admin(by, street.pk)
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
def update_assessment_item(*, by: User, item: AssessmentItem, **changes: Any) -> AssessmentItem:
    """Edit a line of the sheet. Its full marks cannot drop below a score already given for it."""
    check_fields(changes, ITEM_FIELDS, "assessment item")
    # Scoring locks the item too, so no score above the new maximum can slip in meanwhile.
    item = AssessmentItem.objects.select_for_update().get(pk=item.pk)
    require_street_admin(by, item.street_id)
    if "max_points" in changes:
        highest = item.scores.aggregate(highest=Max("points"))["highest"]
        if highest is not None and changes["max_points"] < highest:
            raise field_error("max_points", _("已有小区在此项得分 {points}, 满分不能低于该分").format(points=highest))
    for name, value in changes.items():
        setattr(item, name, value)
    return _save_item(item)


@transaction.atomic
def delete_assessment_item(*, by: User, item: AssessmentItem) -> None:
    item = AssessmentItem.objects.select_for_update().get(pk=item.pk)
    require_street_admin(by, item.street_id)
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
    by: User,
    estate: Estate,
    year: int,
    scores: Sequence[Mapping[str, Any]] = (),
    notes: str = "",
) -> EstateAssessment:
    estate = lock_estate(estate)
    require_community(by, estate.community_id)
    if EstateAssessment.objects.filter(estate=estate, year=year).exists():
        raise field_error("year", _("该小区本年度已有考评, 请修改原考评"))
    assessment = EstateAssessment.objects.create(estate=estate, year=year, notes=notes, assessed_by=user_or_none(by))
    _apply_scores(assessment, estate.community.street_id, scores)
    return assessment


@transaction.atomic
def update_assessment(
    *,
    by: User,
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
    require_community(by, assessment.estate.community_id)
    if notes is not None:
        assessment.notes = notes
    assessment.assessed_by = user_or_none(by)
    assessment.save()
    if scores:
        _apply_scores(assessment, assessment.estate.community.street_id, scores)
    return assessment


@transaction.atomic
def delete_assessment(*, by: User, assessment: EstateAssessment) -> None:
    assessment = EstateAssessment.objects.select_for_update(of=("self",)).select_related("estate").get(pk=assessment.pk)
    require_community(by, assessment.estate.community_id)
    assessment.delete()
