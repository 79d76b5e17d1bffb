"""Self-governance groups of estates without property service, and their meetings."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from backend.accounts.models import User
from backend.communities.models import Estate
from backend.core.errors import field_error

from ..models import (
    SelfGovernanceGroup,
    SelfGovernanceMeeting,
    SelfGovernanceMember,
)
from ._common import (
    TERM_FIELDS,
    check_fields,
    check_no_overlap,
    check_term,
    clean_members,
    lock_estate,
    not_in_future,
    replace_members,
    require_community,
    user_or_none,
)

GROUP_FIELDS = TERM_FIELDS | {"name"}
GROUP_MEETING_FIELDS = {"held_on", "topics", "minutes", "attendee_count"}
GROUP_HEAD = (SelfGovernanceMember.Role.LEADER, "组长")


@transaction.atomic
def create_self_governance_group(
    *,
    by: User,
    estate: Estate,
    name: str,
    term_start: date,
    term_end: date,
    members: Sequence[Mapping[str, Any]] = (),
    notes: str = "",
) -> SelfGovernanceGroup:
    estate = lock_estate(estate)
    require_community(by, estate.community_id)
    if estate.has_property_service:
        raise field_error("estate", _("该小区有物业服务, 居民自治小组用于无物业小区"))
    check_term(term_start, term_end)
    cleaned = clean_members(members, head_role=GROUP_HEAD[0], head_label=GROUP_HEAD[1])
    check_no_overlap(SelfGovernanceGroup.objects.filter(estate=estate), term_start=term_start, term_end=term_end)
    group = SelfGovernanceGroup.objects.create(
        estate=estate,
        name=name,
        term_start=term_start,
        term_end=term_end,
        notes=notes,
        created_by=user_or_none(by),
    )
    replace_members(group, SelfGovernanceMember, "group", cleaned)
    return group


@transaction.atomic
def update_self_governance_group(
    *, by: User, group: SelfGovernanceGroup, members: Sequence[Mapping[str, Any]] | None = None, **changes: Any
) -> SelfGovernanceGroup:
    check_fields(changes, GROUP_FIELDS, "self-governance group")
    estate = lock_estate(group.estate)
    require_community(by, estate.community_id)
    group = SelfGovernanceGroup.objects.select_for_update().get(pk=group.pk)
    for name, value in changes.items():
        setattr(group, name, value)
    check_term(group.term_start, group.term_end)
    check_no_overlap(
        SelfGovernanceGroup.objects.filter(estate=estate),
        term_start=group.term_start,
        term_end=group.term_end,
        exclude_pk=group.pk,
    )
    group.save()
    if members is not None:
        cleaned = clean_members(members, head_role=GROUP_HEAD[0], head_label=GROUP_HEAD[1])
        replace_members(group, SelfGovernanceMember, "group", cleaned)
    return group


@transaction.atomic
def delete_self_governance_group(*, by: User, group: SelfGovernanceGroup) -> None:
    group = SelfGovernanceGroup.objects.select_for_update(of=("self",)).select_related("estate").get(pk=group.pk)
    require_community(by, group.estate.community_id)
    group.delete()


@transaction.atomic
def record_self_governance_meeting(
    *,
    by: User,
    group: SelfGovernanceGroup,
    held_on: date,
    topics: str,
    minutes: str = "",
    attendee_count: int = 0,
) -> SelfGovernanceMeeting:
    group = SelfGovernanceGroup.objects.select_for_update(of=("self",)).select_related("estate").get(pk=group.pk)
    require_community(by, group.estate.community_id)
    not_in_future("held_on", held_on)
    return SelfGovernanceMeeting.objects.create(
        group=group,
        held_on=held_on,
        topics=topics,
        minutes=minutes,
        attendee_count=attendee_count,
        created_by=user_or_none(by),
    )


@transaction.atomic
def update_self_governance_meeting(
    *, by: User, meeting: SelfGovernanceMeeting, **changes: Any
) -> SelfGovernanceMeeting:
    check_fields(changes, GROUP_MEETING_FIELDS, "self-governance meeting")
    meeting = (
        SelfGovernanceMeeting.objects.select_for_update(of=("self",)).select_related("group__estate").get(pk=meeting.pk)
    )
    require_community(by, meeting.group.estate.community_id)
    if "held_on" in changes:
        not_in_future("held_on", changes["held_on"])
    for name, value in changes.items():
        setattr(meeting, name, value)
    meeting.save()
    return meeting


@transaction.atomic
def delete_self_governance_meeting(*, by: User, meeting: SelfGovernanceMeeting) -> None:
    meeting = (
        SelfGovernanceMeeting.objects.select_for_update(of=("self",)).select_related("group__estate").get(pk=meeting.pk)
    )
    require_community(by, meeting.group.estate.community_id)
    meeting.delete()
