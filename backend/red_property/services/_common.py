"""What every red-property service shares: who may act, locks, dates, member lists."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

from django.db.models import Model
from django.utils.translation import gettext as _

from backend.accounts.models import User
from backend.communities.models import Estate
from backend.core.errors import DomainError, field_error
from backend.core.scoping import can_act_on_community, get_scope

from .. import selectors

TERM_FIELDS = {"term_start", "term_end", "notes"}
MEMBER_KEYS = ("name", "role", "phone", "is_party_member", "also_in_party_organisation")


def denied(detail: str) -> DomainError:
    return DomainError("permission_denied", detail)


def user_or_none(by: User) -> User | None:
    return by if getattr(by, "is_authenticated", False) else None


def check_fields(changes: Mapping[str, Any], allowed: set[str], what: str) -> None:
    unknown = set(changes) - allowed
    if unknown:
        raise ValueError(f"not {what} fields: {sorted(unknown)}")


def require_community(by: User, community_id: int) -> None:
    if not can_act_on_community(by, community_id):
        raise denied(_("只能处理本社区(街道)的事务"))


def _is_street_admin_of(by: User, street_id: int) -> bool:
    scope = get_scope(by)
    return scope.is_superuser or street_id in scope.street_ids


def require_street_admin(by: User, street_id: int) -> None:
    if not _is_street_admin_of(by, street_id):
        raise denied(_("需要该街道的管理员权限"))


def lock_estate(estate: Estate) -> Estate:
    return Estate.objects.select_for_update(of=("self",)).select_related("community").get(pk=estate.pk)


def not_in_future(field: str, value: date | None) -> None:
    if value is not None and value > selectors.today():
        raise field_error(field, _("日期不能晚于今天"))


def check_term(term_start: date, term_end: date) -> None:
    if term_end <= term_start:
        raise field_error("term_end", _("任期结束应晚于任期开始"))


def clean_members(members: Sequence[Mapping[str, Any]], *, head_role: str, head_label: str) -> list[dict]:
    cleaned = [{key: member[key] for key in MEMBER_KEYS if key in member} for member in members]
    if sum(1 for member in cleaned if member.get("role") == head_role) > 1:
        raise field_error("members", _("只能有一名{role}").format(role=head_label))
    return cleaned


def replace_members(parent: Model, model: type[Model], link: str, members: list[dict]) -> None:
    model.objects.filter(**{link: parent}).delete()
    model.objects.bulk_create([model(**{link: parent}, **member) for member in members])


def check_no_overlap(terms: Any, *, term_start: date, term_end: date, exclude_pk: int | None = None) -> None:
    overlapping = terms.filter(term_start__lte=term_end, term_end__gte=term_start)
    if exclude_pk is not None:
        overlapping = overlapping.exclude(pk=exclude_pk)
    if overlapping.exists():
        raise field_error("term_start", _("任期与已登记的一届重叠"))
