"""What activities give the apps around it: points in the members ledger, the `activity` notice
audience, who may watch attendance live."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from django.utils import timezone

from backend.activities import services
from backend.activities.models import Enrollment
from backend.core.events import Audience, may_watch, provided_user_ids
from backend.members.models import PointsEntry, PointsRule
from backend.notices import services as notice_services
from backend.notices.models import NoticeReceipt
from tests import factories
from tests.activities.factories import VENUE, ActivityFactory, enrol, north_of, party_member, token

pytestmark = pytest.mark.django_db


def check_in(activity, user):
    lat, lon = north_of(VENUE, 15)
    return services.check_in(
        activity=activity, by=user, client_id=uuid.uuid4(), token=token(activity), latitude=lat, longitude=lon
    )


def test_attending_party_members_earn_the_categorys_points_once(community, django_capture_on_commit_callbacks):
    activity = ActivityFactory(community=community, category="party_day", points=2)
    member = party_member(community).user
    resident = factories.UserFactory(community=community)
    for user in (member, resident):
        enrol(activity, user)
    with django_capture_on_commit_callbacks(execute=True):
        check_in(activity, member)
        check_in(activity, resident)
    entry = PointsEntry.objects.get()
    assert (entry.user_id, entry.rule_code, entry.source, entry.points) == (
        member.pk,
        "party_day",
        f"activity:{activity.pk}",
        2,
    )
    # The scheduler's sweep at the end awards nothing twice.
    now = timezone.now() + timedelta(days=1)
    assert services.finish_due_activities(now=now) == 1
    assert PointsEntry.objects.count() == 1


def test_the_sweep_awards_manual_attendance(community):
    activity = ActivityFactory(community=community, category="party_lesson", points=1)
    member = party_member(community).user
    services.record_attendance(activity=activity, by=factories.staff_of(community), user=member, reason="无手机")
    assert services.finish_due_activities(now=timezone.now() + timedelta(days=1)) == 1
    assert PointsEntry.objects.filter(user=member, source=f"activity:{activity.pk}").count() == 1


def test_no_points_when_the_activity_gives_none_or_no_rule_exists(community, django_capture_on_commit_callbacks):
    member = party_member(community).user
    none = ActivityFactory(community=community, category="party_day", points=0)
    no_rule = ActivityFactory(community=community, category="culture_sports", points=3)
    for activity in (none, no_rule):
        enrol(activity, member)
        with django_capture_on_commit_callbacks(execute=True):
            check_in(activity, member)
    assert not PointsEntry.objects.exists()


def test_points_default_from_the_streets_own_rule(community):
    PointsRule.objects.create(code="party_day", name="主题党日(本街道)", points=5, street=community.street)
    staff = factories.staff_of(community)
    start = timezone.now() + timedelta(days=1)
    activity = services.create_activity(
        by=staff,
        community=community,
        title="主题党日",
        category="party_day",
        starts_at=start,
        ends_at=start + timedelta(hours=2),
        place="党群服务中心",
        latitude=VENUE[0],
        longitude=VENUE[1],
    )
    assert activity.points == 5
    assert (
        services.create_activity(
            by=staff,
            community=community,
            title="文体活动",
            category="culture_sports",
            starts_at=start,
            ends_at=start + timedelta(hours=2),
            place="广场",
            latitude=VENUE[0],
            longitude=VENUE[1],
        ).points
        == 0
    )


def test_the_activity_audience_is_whoever_signed_up(community):
    activity = ActivityFactory(community=community)
    enrolled = enrol(activity).user
    waiting = enrol(activity, status=Enrollment.Status.WAITLISTED).user
    enrol(activity, status=Enrollment.Status.WITHDRAWN)
    assert provided_user_ids("activity", (activity.pk,)) == {enrolled.pk, waiting.pk}
    staff = factories.staff_of(community)
    notice = notice_services.create_notice(
        sender=staff, title="集合地点变更", body="改到二楼会议室", audience=Audience.activity(activity)
    )
    assert set(NoticeReceipt.objects.filter(notice=notice).values_list("user_id", flat=True)) == {
        enrolled.pk,
        waiting.pk,
    }


def test_staff_in_scope_may_watch(community, other_community):
    activity = ActivityFactory(community=community)
    assert may_watch(factories.staff_of(community), "activity", activity.pk)
    assert may_watch(factories.admin_of(community.street), "activity", activity.pk)
    assert not may_watch(factories.staff_of(other_community), "activity", activity.pk)
    assert not may_watch(enrol(activity).user, "activity", activity.pk)
    assert not may_watch(factories.staff_of(community), "activity", activity.pk + 1000)
