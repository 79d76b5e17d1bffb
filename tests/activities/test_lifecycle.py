"""Creating, changing, publishing, cancelling and finishing activities: who may, which steps, what is announced."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from backend.accounts.models import Role
from backend.activities import services
from backend.activities.models import Activity, Enrollment
from backend.core.errors import DomainError
from backend.notices.models import Notice, NoticeReceipt
from tests import factories
from tests.activities.factories import VENUE, ActivityFactory, enrol, party_member

pytestmark = pytest.mark.django_db


def body(community, **extra):
    start = timezone.now() + timedelta(days=2)
    return {
        "community": community.pk,
        "title": "三月主题党日",
        "category": "party_day",
        "description": "学习与志愿服务",
        "starts_at": start.isoformat(),
        "ends_at": (start + timedelta(hours=2)).isoformat(),
        "place": "岳阳楼社区党群服务中心",
        "latitude": 29.37242512345,  # phones and maps send more digits than we keep
        "longitude": VENUE[1],
        "radius_m": 150,
        "capacity": 30,
        **extra,
    }


# Create and change --------------------------------------------------------------------------------


def test_staff_create_a_draft_with_defaults(as_user, community):
    staff = factories.staff_of(community)
    response = as_user(staff).post("/api/v1/activities/", body(community), format="json")
    assert response.status_code == 201, response.json()
    data = response.json()
    assert data["status"] == "draft"
    assert data["audience"] == "community"
    assert data["enrollment_deadline"] is None
    assert data["organiser"] == staff.pk
    assert data["latitude"] == pytest.approx(29.372425)
    # Points default to the category's rule in the members ledger (主题党日: 2).
    assert data["points"] == 2
    activity = Activity.objects.get(pk=data["id"])
    assert activity.radius_m == 150 and activity.capacity == 30


def test_residents_may_not_create(as_user, community, resident):
    response = as_user(resident).post("/api/v1/activities/", body(community), format="json")
    assert response.status_code == 403
    assert response.json()["code"] == "permission_denied"
    assert not Activity.objects.exists()


def test_staff_cannot_create_in_another_community(as_user, community, other_community):
    staff = factories.staff_of(community)
    response = as_user(staff).post("/api/v1/activities/", body(other_community), format="json")
    assert response.status_code == 400
    assert "community" in response.json()["fields"]
    assert not Activity.objects.exists()


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"ends_at": (timezone.now() + timedelta(days=1)).isoformat()}, "ends_at"),
        ({"radius_m": 5}, "radius_m"),
        ({"latitude": 95}, "latitude"),
        ({"audience": "branch"}, "branch"),
        ({"enrollment_deadline": (timezone.now() + timedelta(days=9)).isoformat()}, "enrollment_deadline"),
        ({"capacity": 0}, "capacity"),
        ({"category": "picnic"}, "category"),
    ],
)
def test_bad_input_is_refused_with_the_field_and_stores_nothing(as_user, community, change, field):
    staff = factories.staff_of(community)
    response = as_user(staff).post("/api/v1/activities/", body(community, **change), format="json")
    assert response.status_code == 400, response.json()
    assert response.json()["code"] == "validation_error"
    assert field in response.json()["fields"]
    assert not Activity.objects.exists()


def test_branch_and_brand_must_belong_to_the_community(as_user, community, other_community):
    from backend.brands.models import Brand

    staff = factories.staff_of(community)
    elsewhere = factories.OrganizationFactory(community=other_community)
    response = as_user(staff).post(
        "/api/v1/activities/", body(community, audience="branch", branch=elsewhere.pk), format="json"
    )
    assert response.status_code == 400 and "branch" in response.json()["fields"]
    brand = Brand.objects.create(community=other_community, name="别人的品牌")
    response = as_user(staff).post("/api/v1/activities/", body(community, brand=brand.pk), format="json")
    assert response.status_code == 400 and "brand" in response.json()["fields"]
    assert not Activity.objects.exists()


def test_patch_and_method_override(as_user, community):
    staff = factories.staff_of(community)
    activity = ActivityFactory(community=community, status=Activity.Status.DRAFT)
    client = as_user(staff)
    response = client.patch(f"/api/v1/activities/{activity.pk}/", {"title": "新标题"}, format="json")
    assert response.status_code == 200 and response.json()["title"] == "新标题"
    response = client.post(
        f"/api/v1/activities/{activity.pk}/", {"place": "新地点"}, format="json", HTTP_X_HTTP_METHOD_OVERRIDE="PATCH"
    )
    assert response.status_code == 200 and response.json()["place"] == "新地点"
    # The community stays: it is read-only once the activity exists.
    client.patch(f"/api/v1/activities/{activity.pk}/", {"community": factories.CommunityFactory().pk}, format="json")
    activity.refresh_from_db()
    assert activity.community_id == community.pk


def test_finished_and_cancelled_activities_do_not_change(as_user, community):
    staff = factories.staff_of(community)
    for status in (Activity.Status.FINISHED, Activity.Status.CANCELLED):
        activity = ActivityFactory(community=community, status=status, cancel_reason="下雨")
        response = as_user(staff).patch(f"/api/v1/activities/{activity.pk}/", {"title": "改"}, format="json")
        assert response.status_code == 409
        assert response.json()["code"] == "invalid_transition"
        activity.refresh_from_db()
        assert activity.title != "改"


def test_raising_capacity_moves_the_waiting_list_up(community):
    staff = factories.staff_of(community)
    activity = ActivityFactory(community=community, capacity=1)
    first = enrol(activity)
    waiting = [enrol(activity, status=Enrollment.Status.WAITLISTED) for _ in range(3)]
    services.update_activity(activity=activity, by=staff, capacity=3)
    statuses = {e.pk: e.status for e in Enrollment.objects.all()}
    assert statuses[first.pk] == "enrolled"
    assert [statuses[e.pk] for e in waiting] == ["enrolled", "enrolled", "waitlisted"]


# Scope ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "suffix", "data"),
    [
        ("patch", "", {"title": "x"}),
        ("post", "publish/", None),
        ("post", "cancel/", {"reason": "x"}),
        ("get", "checkin-code/", None),
        ("get", "attendance/", None),
        ("post", "attendance/", {"user": 1, "reason": "x"}),
        ("get", "attendance/export/", None),
        ("put", "minutes/", {"topics": "x"}),
    ],
)
def test_another_communitys_staff_get_404_and_nothing_changes(
    as_user, community, other_community, method, suffix, data
):
    activity = ActivityFactory(community=community, status=Activity.Status.DRAFT, category="party_lesson")
    before = Activity.objects.filter(pk=activity.pk).values().get()
    outsider = factories.staff_of(other_community)
    response = getattr(as_user(outsider), method)(f"/api/v1/activities/{activity.pk}/{suffix}", data, format="json")
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"
    assert Activity.objects.filter(pk=activity.pk).values().get() == before


def test_street_admins_act_on_their_streets_communities(as_user, street, community):
    admin = factories.admin_of(street)
    activity = ActivityFactory(community=community, status=Activity.Status.DRAFT)
    assert as_user(admin).post(f"/api/v1/activities/{activity.pk}/publish/").status_code == 200


def test_drafts_are_invisible_outside_staff(as_user, community, resident):
    draft = ActivityFactory(community=community, status=Activity.Status.DRAFT)
    assert as_user(resident).get(f"/api/v1/activities/{draft.pk}/").status_code == 404
    assert as_user(resident).post(f"/api/v1/activities/{draft.pk}/enrollment/").status_code == 404
    grid_worker = factories.UserFactory()
    factories.grant(grid_worker, Role.GRID_WORKER, factories.GridFactory(community=community))
    assert as_user(grid_worker).get(f"/api/v1/activities/{draft.pk}/").status_code == 404
    assert as_user(factories.staff_of(community)).get(f"/api/v1/activities/{draft.pk}/").status_code == 200


# Publish and cancel ---------------------------------------------------------------------------------


def test_publish_announces_to_the_community_after_commit(
    as_user, community, captured_events, django_capture_on_commit_callbacks
):
    staff = factories.staff_of(community)
    neighbour = factories.UserFactory(community=community)
    activity = ActivityFactory(community=community, status=Activity.Status.DRAFT)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = as_user(staff).post(f"/api/v1/activities/{activity.pk}/publish/")
    assert response.status_code == 200 and response.json()["status"] == "published"
    assert captured_events == []  # nothing leaves before the commit
    for callback in callbacks:
        callback()
    assert "activity.published" in captured_events.names()
    _event, data, audience = next(e for e in captured_events if e[0] == "activity.published")
    assert data["id"] == activity.pk and audience.kind == "community" and audience.ids == (community.pk,)
    notice = Notice.objects.get(kind=Notice.Kind.ACTIVITY)
    assert NoticeReceipt.objects.filter(notice=notice, user=neighbour).exists()


def test_publish_twice_is_an_invalid_transition_and_announces_nothing(
    as_user, community, captured_events, django_capture_on_commit_callbacks
):
    staff = factories.staff_of(community)
    activity = ActivityFactory(community=community)
    with django_capture_on_commit_callbacks(execute=True):
        response = as_user(staff).post(f"/api/v1/activities/{activity.pk}/publish/")
    assert response.status_code == 409
    assert response.json() == {"code": "invalid_transition", "detail": response.json()["detail"]}
    assert captured_events == [] and not Notice.objects.exists()


def test_publishing_a_past_activity_is_refused(community):
    staff = factories.staff_of(community)
    start = timezone.now() - timedelta(hours=3)
    activity = ActivityFactory(
        community=community, status=Activity.Status.DRAFT, starts_at=start, ends_at=start + timedelta(hours=1)
    )
    with pytest.raises(DomainError) as caught:
        services.publish_activity(activity=activity, by=staff)
    assert caught.value.code == "invalid_transition"


def test_party_member_activity_is_announced_to_the_members_only(
    community, captured_events, django_capture_on_commit_callbacks
):
    staff = factories.staff_of(community)
    member = party_member(community)
    factories.UserFactory(community=community)  # a resident, not a member
    activity = ActivityFactory(community=community, status=Activity.Status.DRAFT, audience="party_members")
    with django_capture_on_commit_callbacks(execute=True):
        services.publish_activity(activity=activity, by=staff)
    _event, _data, audience = next(e for e in captured_events if e[0] == "activity.published")
    assert audience.kind == "users" and audience.ids == (member.user_id,)


def test_cancel_needs_a_reason_and_tells_the_enrolled(
    as_user, community, captured_events, django_capture_on_commit_callbacks
):
    staff = factories.staff_of(community)
    activity = ActivityFactory(community=community, audience="public")
    outsider = enrol(activity)  # enrolled from elsewhere: not in the community's audience
    response = as_user(staff).post(f"/api/v1/activities/{activity.pk}/cancel/", {"reason": " "}, format="json")
    assert response.status_code == 400 and "reason" in response.json()["fields"]
    with django_capture_on_commit_callbacks(execute=True):
        response = as_user(staff).post(
            f"/api/v1/activities/{activity.pk}/cancel/", {"reason": "暴雨预警"}, format="json"
        )
    assert response.status_code == 200
    assert response.json()["status"] == "cancelled" and response.json()["cancel_reason"] == "暴雨预警"
    _event, data, audience = next(e for e in captured_events if e[0] == "activity.cancelled")
    assert outsider.user_id in audience.ids and data["reason"] == "暴雨预警"
    assert NoticeReceipt.objects.filter(user=outsider.user, notice__title__contains="活动取消").exists()
    response = as_user(staff).post(f"/api/v1/activities/{activity.pk}/cancel/", {"reason": "再取消"}, format="json")
    assert response.status_code == 409 and response.json()["code"] == "invalid_transition"


def test_cancelling_a_draft_announces_nothing(community, captured_events, django_capture_on_commit_callbacks):
    staff = factories.staff_of(community)
    activity = ActivityFactory(community=community, status=Activity.Status.DRAFT)
    with django_capture_on_commit_callbacks(execute=True):
        services.cancel_activity(activity=activity, by=staff, reason="改期")
    assert captured_events == [] and not Notice.objects.exists()


# Finish (the scheduler) ---------------------------------------------------------------------------


def test_the_scheduler_finishes_activities_after_the_checkout_window(community, settings):
    settings.CHECKOUT_CLOSES_AFTER_MINUTES = 120
    now = timezone.now()
    over = ActivityFactory(community=community, starts_at=now - timedelta(hours=5), ends_at=now - timedelta(hours=3))
    in_window = ActivityFactory(
        community=community, starts_at=now - timedelta(hours=3), ends_at=now - timedelta(hours=1)
    )
    own_window = ActivityFactory(
        community=community,
        starts_at=now - timedelta(hours=3),
        ends_at=now - timedelta(hours=1),
        checkout_closes_after_minutes=30,
    )
    draft = ActivityFactory(
        community=community,
        status=Activity.Status.DRAFT,
        starts_at=now - timedelta(days=2),
        ends_at=now - timedelta(days=1),
    )
    assert services.finish_due_activities(now=now) == 2
    assert services.finish_due_activities(now=now) == 0  # safe to run twice
    statuses = dict(Activity.objects.values_list("pk", "status"))
    assert statuses[over.pk] == statuses[own_window.pk] == "finished"
    assert statuses[in_window.pk] == "published" and statuses[draft.pk] == "draft"


def test_the_job_is_registered_and_enqueues_the_task(community):
    from backend.core.scheduler import periodic_jobs, run_due_jobs

    assert "activities.finish_due" in periodic_jobs
    now = timezone.now()
    activity = ActivityFactory(
        community=community, starts_at=now - timedelta(hours=5), ends_at=now - timedelta(hours=3)
    )
    assert "activities.finish_due" in run_due_jobs(now=now)
    activity.refresh_from_db()
    assert activity.status == "finished"
