"""Committees (业委会 of an estate, 居委会 of a community): terms that never overlap, and members."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any, TypeVar

from django.db import transaction

from backend.accounts.models import User
from backend.communities.models import Community, Estate

from ..models import (
    CommitteeRole,
    OwnersCommittee,
    OwnersCommitteeMember,
    ResidentsCommittee,
    ResidentsCommitteeMember,
)
from ._common import (
    TERM_FIELDS,
    check_fields,
    check_no_overlap,
    check_term,
    clean_members,
    lock_estate,
    replace_members,
    require_community,
    user_or_none,
)

OWNERS_HEAD = (CommitteeRole.DIRECTOR, "主任")
Committee = TypeVar("Committee", OwnersCommittee, ResidentsCommittee)


def _create_committee(
    model: type[Committee],
    member_model: type[Any],
    *,
    by: User,
    place: dict[str, Any],
    community_id: int,
    term_start: date,
    term_end: date,
    members: Sequence[Mapping[str, Any]],
    notes: str,
) -> Committee:
    """A committee's new term for its place (`{"estate": …}` or `{"community": …}`, locked by the
    caller), with its members; terms of one place never overlap."""
    require_community(by, community_id)
    check_term(term_start, term_end)
    cleaned = clean_members(members, head_role=OWNERS_HEAD[0], head_label=OWNERS_HEAD[1])
    check_no_overlap(model.objects.filter(**place), term_start=term_start, term_end=term_end)
    committee = model.objects.create(
        **place, term_start=term_start, term_end=term_end, notes=notes, created_by=user_or_none(by)
    )
    replace_members(committee, member_model, "committee", cleaned)
    return committee


def _update_committee(
    committee: Committee,
    member_model: type[Any],
    *,
    by: User,
    place: dict[str, Any],
    community_id: int,
    members: Sequence[Mapping[str, Any]] | None,
    changes: dict[str, Any],
) -> Committee:
    check_fields(changes, TERM_FIELDS, "committee")
    require_community(by, community_id)
    model = type(committee)
    committee = model.objects.select_for_update().get(pk=committee.pk)
    for name, value in changes.items():
        setattr(committee, name, value)
    check_term(committee.term_start, committee.term_end)
    check_no_overlap(
        model.objects.filter(**place),
        term_start=committee.term_start,
        term_end=committee.term_end,
        exclude_pk=committee.pk,
    )
    committee.save()
    if members is not None:
        cleaned = clean_members(members, head_role=OWNERS_HEAD[0], head_label=OWNERS_HEAD[1])
        replace_members(committee, member_model, "committee", cleaned)
    return committee


@transaction.atomic
def create_owners_committee(
    *,
    by: User,
    estate: Estate,
    term_start: date,
    term_end: date,
    members: Sequence[Mapping[str, Any]] = (),
    notes: str = "",
) -> OwnersCommittee:
    estate = lock_estate(estate)
    return _create_committee(
        OwnersCommittee,
        OwnersCommitteeMember,
        by=by,
        place={"estate": estate},
        community_id=estate.community_id,
        term_start=term_start,
        term_end=term_end,
        members=members,
        notes=notes,
    )


@transaction.atomic
def update_owners_committee(
    *, by: User, committee: OwnersCommittee, members: Sequence[Mapping[str, Any]] | None = None, **changes: Any
) -> OwnersCommittee:
    """Change the term or notes; `members`, when given, replaces the whole list."""
    estate = lock_estate(committee.estate)
    return _update_committee(
        committee,
        OwnersCommitteeMember,
        by=by,
        place={"estate": estate},
        community_id=estate.community_id,
        members=members,
        changes=changes,
    )


@transaction.atomic
def delete_owners_committee(*, by: User, committee: OwnersCommittee) -> None:
    committee = OwnersCommittee.objects.select_for_update(of=("self",)).select_related("estate").get(pk=committee.pk)
    require_community(by, committee.estate.community_id)
    committee.delete()


def _lock_community(community: Community) -> Community:
    return Community.objects.select_for_update().get(pk=community.pk)


@transaction.atomic
def create_residents_committee(
    *,
    by: User,
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
        by=by,
        place={"community": community},
        community_id=community.pk,
        term_start=term_start,
        term_end=term_end,
        members=members,
        notes=notes,
    )


@transaction.atomic
def update_residents_committee(
    *, by: User, committee: ResidentsCommittee, members: Sequence[Mapping[str, Any]] | None = None, **changes: Any
) -> ResidentsCommittee:
    community = _lock_community(committee.community)
    return _update_committee(
        committee,
        ResidentsCommitteeMember,
        by=by,
        place={"community": community},
        community_id=community.pk,
        members=members,
        changes=changes,
    )


@transaction.atomic
def delete_residents_committee(*, by: User, committee: ResidentsCommittee) -> None:
    committee = ResidentsCommittee.objects.select_for_update().get(pk=committee.pk)
    require_community(by, committee.community_id)
    committee.delete()
