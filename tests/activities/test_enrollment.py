"""Enrolment: places, the waiting list in order, deadlines, the audience rule."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from backend.activities import services
from backend.activities.models import Activity, Enrollment
from backend.core.errors import DomainError
from backend.notices.models import NoticeReceipt
from tests import factories
from tests.activities.factories import ActivityFactory, enrol, party_member

pytestmark = pytest.mark.django_db


def url(activity) -> str:
    return f"/api/v1/activities/{activity.pk}/enrollment/"


def neighbour(community):
    return factories.UserFactory(community=community)


def test_enrol_then_waitlist_with_positions(as_user, community):
    activity = ActivityFactory(community=community, capacity=2)
    answers = [as_user(neighbour(community)).post(url(activity)) for _ in range(4)]
    assert [a.status_code for a in answers] == [201] * 4
    assert [(a.json()["status"], a.json()["position"]) for a in answers] == [
        ("enrolled", None),
        ("enrolled", None),
        ("waitlisted", 1),
        ("waitlisted", 2),
    ]


def test_enrolling_again_answers_with_the_same_sign_up(as_user, community):
    user = neighbour(community)
    activity = ActivityFactory(community=community, capacity=1)
    enrol(activity)
    first = as_user(user).post(url(activity))
    again = as_user(user).post(url(activity))
    assert first.status_code == 201 and again.status_code == 200
    assert again.json() == first.json()
    assert Enrollment.objects.filter(activity=activity, user=user).count() == 1


def test_withdrawing_promotes_the_waiting_list_in_order(
    as_user, community, django_capture_on_commit_callbacks, captured_events
):
    activity = ActivityFactory(community=community, capacity=1)
    holder, second, third = neighbour(community), neighbour(community), neighbour(community)
    for user in (holder, second, third):
        as_user(user).post(url(activity))
    with django_capture_on_commit_callbacks(execute=True):
        response = as_user(holder).delete(url(activity))
    assert response.status_code == 204
    statuses = dict(Enrollment.objects.values_list("user_id", "status"))
    assert statuses == {holder.pk: "withdrawn", second.pk: "enrolled", third.pk: "waitlisted"}
    promoted = [e for e in captured_events if e[0] == "enrollment.promoted"]
    assert promoted and promoted[0][2].ids == (second.pk,)
    assert NoticeReceipt.objects.filter(user=second, notice__title__contains="候补成功").exists()
    # The third is now first in line.
    detail = as_user(third).get(f"/api/v1/activities/{activity.pk}/").json()
    assert detail["my_enrollment"] == "waitlisted" and detail["my_position"] == 1


def test_withdrawing_from_the_waiting_list_promotes_no_one(community):
    activity = ActivityFactory(community=community, capacity=1)
    holder = enrol(activity)
    users = [neighbour(community) for _ in range(2)]
    for user in users:
        services.enroll(activity=activity, user=user)
    services.withdraw(activity=activity, user=users[0])
    assert Enrollment.objects.get(user=holder.user).status == "enrolled"
    assert Enrollment.objects.get(user=users[1]).status == "waitlisted"
    again = services.enroll(activity=activity, user=users[0])
    assert again.created and again.enrollment.status == "waitlisted" and again.position == 2


def test_withdraw_without_enrolment_is_not_enrolled(as_user, community):
    activity = ActivityFactory(community=community)
    response = as_user(neighbour(community)).delete(url(activity))
    assert response.status_code == 409 and response.json()["code"] == "not_enrolled"


def test_no_withdrawal_once_started(as_user, community):
    user = neighbour(community)
    now = timezone.now()
    activity = ActivityFactory(
        community=community, starts_at=now - timedelta(minutes=5), ends_at=now + timedelta(hours=1)
    )
    enrol(activity, user)
    response = as_user(user).delete(url(activity))
    assert response.status_code == 409 and response.json()["code"] == "enrollment_closed"
    assert Enrollment.objects.get(user=user).status == "enrolled"


def test_enrolment_open_until_the_end_without_a_deadline(as_user, community):
    now = timezone.now()
    running = ActivityFactory(community=community, starts_at=now - timedelta(hours=1), ends_at=now + timedelta(hours=1))
    assert as_user(neighbour(community)).post(url(running)).status_code == 201
    over = ActivityFactory(community=community, starts_at=now - timedelta(hours=3), ends_at=now - timedelta(hours=1))
    response = as_user(neighbour(community)).post(url(over))
    assert response.status_code == 409 and response.json()["code"] == "enrollment_closed"


def test_enrolment_closes_at_the_deadline(as_user, community):
    now = timezone.now()
    activity = ActivityFactory(
        community=community,
        starts_at=now + timedelta(days=1),
        ends_at=now + timedelta(days=1, hours=2),
        enrollment_deadline=now - timedelta(minutes=1),
    )
    response = as_user(neighbour(community)).post(url(activity))
    assert response.status_code == 409 and response.json()["code"] == "enrollment_closed"
    assert not Enrollment.objects.exists()


def test_someone_it_is_not_for_hears_403_before_enrolment_has_closed(as_user, community, other_community):
    now = timezone.now()
    activity = ActivityFactory(
        community=community,
        starts_at=now + timedelta(days=1),
        ends_at=now + timedelta(days=1, hours=2),
        enrollment_deadline=now - timedelta(minutes=1),
    )
    response = as_user(factories.UserFactory(community=other_community)).post(url(activity))
    assert response.status_code == 403 and response.json()["code"] == "not_in_audience"
    assert not Enrollment.objects.exists()


def test_cancelled_activities_take_no_enrolment(as_user, community):
    activity = ActivityFactory(community=community, status=Activity.Status.CANCELLED, cancel_reason="取消")
    response = as_user(neighbour(community)).post(url(activity))
    assert response.status_code == 409 and response.json()["code"] == "enrollment_closed"


def test_community_audience(as_user, community, other_community):
    activity = ActivityFactory(community=community)
    stranger = factories.UserFactory(community=other_community)
    response = as_user(stranger).post(url(activity))
    assert response.status_code == 403 and response.json()["code"] == "not_in_audience"
    assert not Enrollment.objects.exists()
    # Registered (双报到) members of the community belong to it wherever they live.
    member = party_member(community)
    assert as_user(member.user).post(url(activity)).status_code == 201
    # So do its staff.
    assert as_user(factories.staff_of(community)).post(url(activity)).status_code == 201


def test_public_audience(as_user, community, other_community):
    activity = ActivityFactory(community=community, audience="public")
    assert as_user(factories.UserFactory(community=other_community)).post(url(activity)).status_code == 201
    assert as_user(factories.UserFactory()).post(url(activity)).status_code == 201


def test_party_member_audience(as_user, community):
    activity = ActivityFactory(community=community, audience="party_members")
    # Not a member: the activity is not even listed for them.
    assert as_user(neighbour(community)).post(url(activity)).status_code == 404
    assert as_user(party_member(community).user).post(url(activity)).status_code == 201
    # A member of one of the community's own organisations, not registered by 双报到.
    local = party_member(organization=factories.OrganizationFactory(community=community))
    assert as_user(local.user).post(url(activity)).status_code == 201


def test_party_member_audience_refused_by_the_service(community):
    activity = ActivityFactory(community=community, audience="party_members")
    with pytest.raises(DomainError) as caught:
        services.enroll(activity=activity, user=neighbour(community))
    assert caught.value.code == "not_in_audience"


def test_branch_audience(as_user, community):
    branch = factories.OrganizationFactory(community=community)
    group = factories.OrganizationFactory(community=community, parent=branch, kind="group")
    other_branch = factories.OrganizationFactory(community=community)
    activity = ActivityFactory(
        community=community, audience="branch", branch=branch, category="three_meetings_one_lesson"
    )
    assert as_user(party_member(organization=branch).user).post(url(activity)).status_code == 201
    assert as_user(party_member(organization=group).user).post(url(activity)).status_code == 201
    outsider = party_member(community, organization=other_branch)
    assert as_user(outsider.user).post(url(activity)).status_code == 404
    with pytest.raises(DomainError) as caught:
        services.enroll(activity=activity, user=outsider.user)
    assert caught.value.code == "not_in_audience"


def test_volunteer_audience_asks_the_registry(community):
    from backend.activities import registry

    activity = ActivityFactory(community=community, audience="volunteers")
    volunteer, other = neighbour(community), neighbour(community)
    installed = registry.audience_members.get("volunteers")  # the volunteers app's own, when installed
    registry.audience_members.register("volunteers", lambda user, _activity: user.pk == volunteer.pk)
    try:
        assert services.enroll(activity=activity, user=volunteer).created
        with pytest.raises(DomainError) as caught:
            services.enroll(activity=activity, user=other)
        assert caught.value.code == "not_in_audience"
    finally:
        if installed is not None:
            registry.audience_members.register("volunteers", installed)
        else:
            registry.audience_members.unregister("volunteers")


def test_enrolment_announces_to_the_user_after_commit(community, captured_events, django_capture_on_commit_callbacks):
    user = neighbour(community)
    activity = ActivityFactory(community=community)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        services.enroll(activity=activity, user=user)
    assert captured_events == []
    for callback in callbacks:
        callback()
    created = [e for e in captured_events if e[0] == "enrollment.created"]
    assert created and created[0][2].ids == (user.pk,) and created[0][1]["status"] == "enrolled"
