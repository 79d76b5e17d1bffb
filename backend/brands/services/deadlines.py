"""Deadlines a street sets for its communities' plans: one per community a year."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from backend.accounts.models import User
from backend.communities.models import Community, Street
from backend.core.errors import field_error

from ..models import (
    BrandDeadline,
    BrandDeadlineCommunity,
)
from .access import require_street_admin


def _check_deadline_communities(
    *, street: Street, communities: Sequence[Community], year: int, deadline: BrandDeadline | None
) -> list[Community]:
    unique = list({c.pk: c for c in communities}.values())
    if not unique:
        raise field_error("communities", _("请至少选择一个社区"))
    foreign = [c.name for c in unique if c.street_id != street.pk]
    if foreign:
        raise field_error("communities", _("这些社区不属于该街道: %(names)s") % {"names": "、".join(foreign)})
    taken = BrandDeadlineCommunity.objects.filter(community__in=unique, year=year).select_related("community")
    if deadline is not None:
        taken = taken.exclude(deadline=deadline)
    names = [entry.community.name for entry in taken]
    if names:
        # One deadline per community a year: a second would leave the due date ambiguous.
        raise field_error(
            "communities",
            _("%(year)s年已为这些社区设过截止日期: %(names)s") % {"year": year, "names": "、".join(names)},
        )
    return unique


def check_deadline(
    *,
    by: User,
    street: Street,
    due_date: date,
    communities: Sequence[Community],
    deadline: BrandDeadline | None = None,
) -> list[Community]:
    """The checks of create/update without writing, for forms that show errors beside their fields."""
    require_street_admin(by=by, street_id=street.pk, detail=_("只有街道管理员可以设置截止日期"))
    return _check_deadline_communities(street=street, communities=communities, year=due_date.year, deadline=deadline)


def _save_entries(deadline: BrandDeadline, communities: list[Community]) -> None:
    year = deadline.due_date.year
    keep = {c.pk for c in communities}
    try:
        with transaction.atomic():
            deadline.entries.exclude(community_id__in=keep).delete()
            deadline.entries.filter(community_id__in=keep).exclude(year=year).update(year=year)
            present = set(deadline.entries.values_list("community_id", flat=True))
            BrandDeadlineCommunity.objects.bulk_create(
                [
                    BrandDeadlineCommunity(deadline=deadline, community=c, year=year)
                    for c in communities
                    if c.pk not in present
                ]
            )
    except IntegrityError:
        # Lost a race with another deadline naming the same community for the same year.
        raise field_error("communities", _("部分社区该年度已有截止日期, 请刷新后重试")) from None


@transaction.atomic
def create_deadline(
    *, by: User, street: Street, due_date: date, communities: Sequence[Community], title: str = ""
) -> BrandDeadline:
    chosen = check_deadline(by=by, street=street, due_date=due_date, communities=communities)
    deadline = BrandDeadline.objects.create(
        street=street,
        title=title,
        due_date=due_date,
        created_by=by if getattr(by, "is_authenticated", False) else None,
    )
    _save_entries(deadline, chosen)
    return deadline


@transaction.atomic
def update_deadline(
    *,
    by: User,
    deadline: BrandDeadline,
    due_date: date | None = None,
    communities: Sequence[Community] | None = None,
    title: str | None = None,
) -> BrandDeadline:
    deadline = BrandDeadline.objects.select_for_update().select_related("street").get(pk=deadline.pk)
    new_due = due_date or deadline.due_date
    chosen_in = list(communities) if communities is not None else list(deadline.communities.all())
    chosen = check_deadline(by=by, street=deadline.street, due_date=new_due, communities=chosen_in, deadline=deadline)
    deadline.due_date = new_due
    if title is not None:
        deadline.title = title
    deadline.save()
    _save_entries(deadline, chosen)
    return deadline


@transaction.atomic
def delete_deadline(*, by: User, deadline: BrandDeadline) -> None:
    require_street_admin(by=by, street_id=deadline.street_id, detail=_("只有街道管理员可以设置截止日期"))
    deadline.delete()
