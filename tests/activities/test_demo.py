"""seed_demo's activities: every category, over and to come, around 岳阳楼, and a second run changes nothing."""

from __future__ import annotations

import pytest
from django.utils import timezone

from backend.activities.models import Activity
from backend.core import geo
from backend.demo.services import seed_demo

pytestmark = pytest.mark.django_db

YUEYANGLOU = (29.372425, 113.093627)


@pytest.fixture
def debug(settings):
    settings.DEBUG = True
    return settings


def test_every_category_over_and_to_come_near_yueyanglou(debug):
    result = seed_demo()
    assert result.activities_changed
    activities = list(Activity.objects.select_related("community__street"))
    assert {a.category for a in activities} == set(Activity.Category.values)
    assert {a.community.street.name for a in activities} == {"岳阳楼街道"}
    assert len({a.community_id for a in activities}) == 9
    now = timezone.now()
    assert any(a.ends_at < now and a.status == "finished" for a in activities)
    assert any(a.starts_at > now and a.status == "published" for a in activities)
    for activity in activities:
        assert geo.distance_m(activity.latitude, activity.longitude, *YUEYANGLOU) < 1500
        assert activity.place and activity.organiser_id
        if activity.audience == Activity.Audience.BRANCH:
            assert activity.branch.community_id == activity.community_id


def test_second_run_changes_nothing(debug):
    seed_demo()
    before = list(Activity.objects.order_by("pk").values())
    again = seed_demo()
    assert not again.activities_changed and not again.changed
    assert list(Activity.objects.order_by("pk").values()) == before


def test_without_staff_accounts_no_activities_are_made(settings):
    settings.DEBUG = False
    seed_demo()
    assert not Activity.objects.exists()
