"""A check-out of a counts_as_service activity: a pending record, the participant registered, never refused."""

from __future__ import annotations

import uuid
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from backend.activities import registry
from backend.activities import services as activity_services
from backend.activities.models import Activity, CheckIn
from backend.volunteers import selectors, services
from backend.volunteers.models import ServiceRecord, Volunteer
from tests import factories
from tests.activities.factories import ActivityFactory, enrol, north_of, token
from tests.volunteers.factories import VolunteerFactory, record

pytestmark = pytest.mark.django_db


def attend(activity: Activity, user, *, arrive, leave):
    lat, lon = north_of((float(activity.latitude), float(activity.longitude)), 20)
    for kind, moment in (("in", arrive), ("out", leave)):
        call = activity_services.check_in if kind == "in" else activity_services.check_out
        call(
            activity=activity,
            by=user,
            client_id=uuid.uuid4(),
            token=token(activity, now=moment),
            latitude=lat,
            longitude=lon,
            accuracy=10,
            now=moment,
        )


@pytest.fixture
def service_activity(community):
    starts = timezone.now() - timedelta(hours=5)
    return ActivityFactory(
        community=community,
        counts_as_service=True,
        category=Activity.Category.VOLUNTEER_SERVICE,
        title="河堤清洁志愿服务",
        starts_at=starts,
        ends_at=starts + timedelta(hours=3),
    )


def test_checkout_creates_a_pending_record_and_registers_the_participant(
    service_activity, community, django_capture_on_commit_callbacks
):
    user = factories.UserFactory(real_name="王芳")
    enrol(service_activity, user)
    arrive = service_activity.starts_at
    with django_capture_on_commit_callbacks(execute=True):
        attend(service_activity, user, arrive=arrive, leave=arrive + timedelta(hours=2, minutes=30))
    volunteer = Volunteer.objects.get(user=user)
    assert volunteer.community_id == community.pk
    assert volunteer.registered_via == Volunteer.RegisteredVia.CHECKOUT
    assert volunteer.real_name == "王芳"
    row = ServiceRecord.objects.get(volunteer=volunteer)
    assert (row.source, row.status, row.hours) == ("checkout", "pending", Decimal("2.50"))
    assert row.activity_id == service_activity.pk and row.content == "河堤清洁志愿服务"
    assert row.community_id == community.pk


def test_checkout_of_an_activity_that_does_not_count_makes_no_record(community, django_capture_on_commit_callbacks):
    starts = timezone.now() - timedelta(hours=5)
    activity = ActivityFactory(community=community, counts_as_service=False, starts_at=starts)
    user = factories.UserFactory()
    enrol(activity, user)
    with django_capture_on_commit_callbacks(execute=True):
        attend(activity, user, arrive=starts, leave=starts + timedelta(hours=1))
    assert not ServiceRecord.objects.exists()
    assert not Volunteer.objects.exists()


def test_an_overlapping_checkout_is_kept_and_both_records_flagged(
    service_activity, community, django_capture_on_commit_callbacks
):
    volunteer = VolunteerFactory(community=community)
    arrive = service_activity.starts_at
    by_hand = record(volunteer, started_at=arrive + timedelta(hours=1), hours=2)
    enrol(service_activity, volunteer.user)
    with django_capture_on_commit_callbacks(execute=True):
        attend(service_activity, volunteer.user, arrive=arrive, leave=arrive + timedelta(hours=2))
    from_checkout = ServiceRecord.objects.get(source="checkout")
    by_hand.refresh_from_db()
    assert from_checkout.overlap_flag and by_hand.overlap_flag
    assert from_checkout.status == "pending"


def test_a_long_checkout_is_flagged_over_the_cap(community, settings, django_capture_on_commit_callbacks):
    settings.VOLUNTEER_RECORD_CAP_HOURS = "2"
    starts = timezone.now() - timedelta(hours=6)
    activity = ActivityFactory(
        community=community, counts_as_service=True, starts_at=starts, ends_at=starts + timedelta(hours=4)
    )
    user = factories.UserFactory()
    enrol(activity, user)
    with django_capture_on_commit_callbacks(execute=True):
        attend(activity, user, arrive=starts, leave=starts + timedelta(hours=3))
    row = ServiceRecord.objects.get()
    assert row.over_cap_flag and row.hours == Decimal("3.00")


def _span(activity, user, *, hours=2):
    return registry.AttendedSpan(
        activity_id=activity.pk,
        community_id=activity.community_id,
        user_id=user.pk,
        title=activity.title,
        place=activity.place,
        started_at=activity.starts_at,
        ended_at=activity.starts_at + timedelta(hours=hours),
        check_in_id=1,
        check_out_id=2,
    )


def test_the_listener_running_twice_makes_one_record(service_activity):
    user = factories.UserFactory()
    first = services.record_from_checkout(span=_span(service_activity, user))
    second = services.record_from_checkout(span=_span(service_activity, user))
    assert first.pk == second.pk
    assert ServiceRecord.objects.count() == 1


def test_the_listener_is_registered_with_activities():
    assert registry.checkout_listeners.get("volunteers") is services.on_checkout


def test_the_sweep_makes_records_for_checkouts_the_listener_missed(service_activity, monkeypatch):
    user = factories.UserFactory()
    enrol(service_activity, user)
    arrive = service_activity.starts_at
    # No on_commit capture: the listener never runs, as after a crash right after the commit.
    attend(service_activity, user, arrive=arrive, leave=arrive + timedelta(hours=1))
    assert CheckIn.objects.filter(kind="out").count() == 1
    assert not ServiceRecord.objects.exists()
    assert services.sweep_missed_checkouts() == 1
    assert ServiceRecord.objects.get().hours == Decimal("1.00")
    assert services.sweep_missed_checkouts() == 0


def test_volunteers_audience_of_an_activity(community, other_community):
    activity = ActivityFactory(community=community, audience=Activity.Audience.VOLUNTEERS)
    here = VolunteerFactory(community=community)
    elsewhere = VolunteerFactory(community=other_community)
    from backend.volunteers.models import VolunteerTeam

    team = VolunteerTeam.objects.create(community=community, name="红马甲服务队")
    team.members.add(elsewhere)
    stranger = VolunteerFactory(community=other_community)
    assert selectors.is_activity_volunteer(here.user, activity)
    assert selectors.is_activity_volunteer(elsewhere.user, activity)
    assert not selectors.is_activity_volunteer(stranger.user, activity)
    assert selectors.activity_volunteer_user_ids(activity) == {here.user_id, elsewhere.user_id}
    assert registry.audience_members.get("volunteers") is selectors.is_activity_volunteer
    assert registry.audience_user_ids.get("volunteers") is selectors.activity_volunteer_user_ids
