"""三方联动: meetings of owners, the property company and the party organisation, and follow-ups."""

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
    FollowUpItem,
    JointMeeting,
    JointMeetingParticipant,
)
from ._common import (
    check_fields,
    lock_estate,
    not_in_future,
    replace_members,
    require_community,
    user_or_none,
)

MEETING_FIELDS = {"held_on", "place", "topics", "decisions"}
FOLLOW_UP_FIELDS = {"content", "owner", "due_date", "done_on"}
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
        not_in_future(f"{prefix}done_on", done_on)


@transaction.atomic
def create_joint_meeting(
    *,
    by: User,
    estate: Estate,
    held_on: date,
    topics: str,
    participants: Sequence[Mapping[str, Any]],
    place: str = "",
    decisions: str = "",
    follow_ups: Sequence[Mapping[str, Any]] = (),
) -> JointMeeting:
    estate = lock_estate(estate)
    require_community(by, estate.community_id)
    not_in_future("held_on", held_on)
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
        created_by=user_or_none(by),
    )
    replace_members(meeting, JointMeetingParticipant, "meeting", cleaned)
    FollowUpItem.objects.bulk_create([FollowUpItem(meeting=meeting, **item) for item in items])
    return meeting


@transaction.atomic
def update_joint_meeting(
    *,
    by: User,
    meeting: JointMeeting,
    participants: Sequence[Mapping[str, Any]] | None = None,
    **changes: Any,
) -> JointMeeting:
    """Change the record; `participants`, when given, replaces the whole list."""
    check_fields(changes, MEETING_FIELDS, "meeting")
    meeting = JointMeeting.objects.select_for_update(of=("self",)).select_related("estate").get(pk=meeting.pk)
    require_community(by, meeting.estate.community_id)
    for name, value in changes.items():
        setattr(meeting, name, value)
    if "held_on" in changes:
        not_in_future("held_on", meeting.held_on)
        earliest_due = meeting.follow_ups.order_by("due_date").values_list("due_date", flat=True).first()
        if earliest_due is not None and earliest_due < meeting.held_on:
            raise field_error("held_on", _("会议日期不能晚于跟进事项的完成期限"))
    meeting.save()
    if participants is not None:
        replace_members(meeting, JointMeetingParticipant, "meeting", _clean_participants(participants))
    return meeting


@transaction.atomic
def delete_joint_meeting(*, by: User, meeting: JointMeeting) -> None:
    meeting = JointMeeting.objects.select_for_update(of=("self",)).select_related("estate").get(pk=meeting.pk)
    require_community(by, meeting.estate.community_id)
    meeting.delete()


@transaction.atomic
def add_follow_up(*, by: User, meeting: JointMeeting, content: str, owner: str, due_date: date) -> FollowUpItem:
    meeting = JointMeeting.objects.select_for_update(of=("self",)).select_related("estate").get(pk=meeting.pk)
    require_community(by, meeting.estate.community_id)
    _check_follow_up_dates(held_on=meeting.held_on, due_date=due_date, done_on=None)
    return FollowUpItem.objects.create(meeting=meeting, content=content, owner=owner, due_date=due_date)


@transaction.atomic
def update_follow_up(*, by: User, item: FollowUpItem, **changes: Any) -> FollowUpItem:
    """Edit an item or mark it done (`done_on`, not in the future) or open again (`done_on=None`)."""
    check_fields(changes, FOLLOW_UP_FIELDS, "follow-up")
    item = FollowUpItem.objects.select_for_update(of=("self",)).select_related("meeting__estate").get(pk=item.pk)
    require_community(by, item.meeting.estate.community_id)
    for name, value in changes.items():
        setattr(item, name, value)
    _check_follow_up_dates(held_on=item.meeting.held_on, due_date=item.due_date, done_on=item.done_on)
    item.save()
    return item


@transaction.atomic
def delete_follow_up(*, by: User, item: FollowUpItem) -> None:
    item = FollowUpItem.objects.select_for_update(of=("self",)).select_related("meeting__estate").get(pk=item.pk)
    require_community(by, item.meeting.estate.community_id)
    item.delete()
