"""Check-in and check-out by phone: the rotating code, the window, the geofence, enrolment,
idempotency on client_id, manual attendance, and how few queries a check-in costs."""

from __future__ import annotations

import base64
import uuid
from datetime import timedelta
from io import BytesIO

import pytest
from django.utils import timezone
from PIL import Image

from backend.activities import registry, services
from backend.activities.models import Activity, CheckIn, Enrollment
from backend.core.errors import DomainError
from tests import factories
from tests.activities.factories import VENUE, ActivityFactory, enrol, north_of, position_body, token

pytestmark = pytest.mark.django_db


def checkin_url(activity, kind: str = "in") -> str:
    return f"/api/v1/activities/{activity.pk}/check-{kind}/"


@pytest.fixture
def activity(community):
    return ActivityFactory(community=community, capacity=10)


@pytest.fixture
def member(activity):
    return enrol(activity).user


# The code ---------------------------------------------------------------------------------------


def test_staff_get_a_code_with_a_scannable_qr(as_user, community, activity, settings):
    settings.CHECKIN_QR_URL_PREFIX = "https://mp.example.org/checkin/"
    response = as_user(factories.staff_of(community)).get(f"/api/v1/activities/{activity.pk}/checkin-code/")
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    data = response.json()
    assert data["url"] == f"https://mp.example.org/checkin/{data['token']}"
    assert data["period_seconds"] == 30
    assert data["expires_at"] > data["refresh_at"]
    header, encoded = data["qr_png"].split(",", 1)
    assert header == "data:image/png;base64"
    image = Image.open(BytesIO(base64.b64decode(encoded)))
    assert image.format == "PNG" and image.width > 100
    # The token is URL-safe as it stands.
    assert all(ch.isalnum() or ch in "-_." for ch in data["token"])


def test_residents_get_no_code(as_user, activity, member):
    response = as_user(member).get(f"/api/v1/activities/{activity.pk}/checkin-code/")
    assert response.status_code == 404


def test_no_code_for_a_draft_or_a_cancelled_activity(as_user, community):
    staff = factories.staff_of(community)
    for status in (Activity.Status.DRAFT, Activity.Status.CANCELLED):
        activity = ActivityFactory(community=community, status=status, cancel_reason="x")
        response = as_user(staff).get(f"/api/v1/activities/{activity.pk}/checkin-code/")
        assert response.status_code == 400 and response.json()["code"] == "not_open"


def test_the_code_rotates_and_is_accepted_for_two_periods(activity, member, settings):
    settings.CHECKIN_CODE_PERIOD_SECONDS = 2
    staff = factories.staff_of(activity.community)
    start = timezone.now()
    code = services.issue_checkin_code(activity=activity, by=staff, now=start)
    services.verify_token(activity=activity, token=code.token, now=start)
    services.verify_token(activity=activity, token=code.token, now=code.refresh_at)  # the next period
    with pytest.raises(DomainError) as caught:
        services.verify_token(activity=activity, token=code.token, now=code.expires_at)  # two periods on
    assert caught.value.code == "invalid_token"
    later = services.issue_checkin_code(activity=activity, by=staff, now=code.expires_at)
    assert later.token != code.token
    assert (later.expires_at - later.refresh_at).total_seconds() == 2


def test_a_photographed_code_is_refused_a_minute_later(as_user, activity, member):
    response = as_user(member).post(checkin_url(activity), position_body(activity, token=token(activity, slots_ago=2)))
    assert response.status_code == 400 and response.json()["code"] == "invalid_token"
    assert not CheckIn.objects.exists()


@pytest.mark.parametrize("bad", ["", "garbage", "12.34.abc", "https://mp.example.org/checkin/nope"])
def test_forged_tokens_are_refused(as_user, activity, member, bad):
    response = as_user(member).post(checkin_url(activity), position_body(activity, token=bad or "x"))
    assert response.status_code == 400 and response.json()["code"] == "invalid_token"


def test_another_activitys_code_is_refused(as_user, community, activity, member):
    other = ActivityFactory(community=community)
    response = as_user(member).post(checkin_url(activity), position_body(activity, token=token(other)))
    assert response.status_code == 400 and response.json()["code"] == "invalid_token"


def test_the_scanned_url_is_accepted_as_the_token(as_user, activity, member, settings):
    scanned = f"{settings.CHECKIN_QR_URL_PREFIX}{token(activity)}"
    response = as_user(member).post(checkin_url(activity), position_body(activity, token=scanned))
    assert response.status_code == 201


# Check-in -----------------------------------------------------------------------------------------


def test_check_in_keeps_distance_and_fence_not_the_position(as_user, activity, member):
    body = position_body(activity, metres=50, accuracy=12.4)
    response = as_user(member).post(checkin_url(activity), body)
    assert response.status_code == 201, response.json()
    data = response.json()
    assert data["kind"] == "in" and data["inside"] is True and data["manual"] is False
    assert data["distance_m"] == 50 and data["accuracy_m"] == 12 and data["client_id"] == body["client_id"]
    row = CheckIn.objects.get()
    stored = {f.name for f in CheckIn._meta.get_fields()}
    assert not stored & {"latitude", "longitude", "position", "location"}
    assert (row.user_id, row.distance_m) == (member.pk, 50)


def test_retry_with_the_same_client_id_gets_the_first_answer(as_user, activity, member):
    body = position_body(activity)
    first = as_user(member).post(checkin_url(activity), body)
    again = as_user(member).post(checkin_url(activity), body)
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json() == first.json()
    # Even once the code and the place have changed (the retry of a request that got lost).
    moved = {**body, "token": token(activity, slots_ago=5), "latitude": 0, "longitude": 0}
    late = as_user(member).post(checkin_url(activity), moved)
    assert late.status_code == 200 and late.json() == first.json()
    assert CheckIn.objects.count() == 1


def test_a_different_second_check_in_conflicts(as_user, activity, member):
    assert as_user(member).post(checkin_url(activity), position_body(activity)).status_code == 201
    response = as_user(member).post(checkin_url(activity), position_body(activity))
    assert response.status_code == 409 and response.json()["code"] == "already_checked_in"
    # Also when the second attempt would itself be refused for its code.
    stale = position_body(activity, token=token(activity, slots_ago=4))
    assert as_user(member).post(checkin_url(activity), stale).json()["code"] == "already_checked_in"
    assert CheckIn.objects.count() == 1


def test_a_client_id_used_for_another_check_in_is_refused(as_user, community, activity, member):
    other = ActivityFactory(community=community)
    enrol(other, member)
    body = position_body(activity)
    assert as_user(member).post(checkin_url(activity), body).status_code == 201
    response = as_user(member).post(checkin_url(other), {**body, "token": token(other)})
    assert response.status_code == 400 and "client_id" in response.json()["fields"]
    assert CheckIn.objects.count() == 1


def test_outside_the_fence_is_out_of_range(as_user, activity, member):
    response = as_user(member).post(checkin_url(activity), position_body(activity, metres=400, accuracy=20))
    assert response.status_code == 400 and response.json()["code"] == "out_of_range"
    assert "400" in response.json()["detail"]
    assert not CheckIn.objects.exists()


def test_reported_accuracy_widens_the_fence_within_a_bound(as_user, activity, member, settings):
    settings.CHECKIN_MAX_ACCURACY_ALLOWANCE_M = 100
    # 250 m from a 200 m fence, accurate to 80 m: accepted, marked outside the fence itself.
    response = as_user(member).post(checkin_url(activity), position_body(activity, metres=250, accuracy=80))
    assert response.status_code == 201 and response.json()["inside"] is False
    # A claimed accuracy of 5 km does not stretch the fence past the bound.
    other = enrol(activity).user
    response = as_user(other).post(checkin_url(activity), position_body(activity, metres=320, accuracy=5000))
    assert response.status_code == 400 and response.json()["code"] == "out_of_range"


def test_bad_positions_are_validation_errors(as_user, activity, member):
    for change in ({"latitude": 91}, {"longitude": "东经"}, {"accuracy": -1}, {"client_id": "not-a-uuid"}):
        response = as_user(member).post(checkin_url(activity), {**position_body(activity), **change})
        assert response.status_code == 400 and response.json()["code"] == "validation_error"
    assert not CheckIn.objects.exists()


def test_window_opens_before_the_start_and_closes_at_the_end(as_user, community, settings):
    settings.CHECKIN_OPENS_BEFORE_MINUTES = 30
    now = timezone.now()
    early = ActivityFactory(
        community=community, starts_at=now + timedelta(minutes=45), ends_at=now + timedelta(hours=2)
    )
    user = enrol(early).user
    response = as_user(user).post(checkin_url(early), position_body(early))
    assert response.status_code == 400 and response.json()["code"] == "not_open"
    soon = ActivityFactory(community=community, starts_at=now + timedelta(minutes=25), ends_at=now + timedelta(hours=2))
    assert as_user(enrol(soon).user).post(checkin_url(soon), position_body(soon)).status_code == 201
    over = ActivityFactory(community=community, starts_at=now - timedelta(hours=2), ends_at=now - timedelta(minutes=1))
    response = as_user(enrol(over).user).post(checkin_url(over), position_body(over))
    assert response.status_code == 400 and response.json()["code"] == "not_open"
    # An activity may open its own window earlier.
    own = ActivityFactory(
        community=community,
        starts_at=now + timedelta(minutes=45),
        ends_at=now + timedelta(hours=2),
        checkin_opens_before_minutes=60,
    )
    assert as_user(enrol(own).user).post(checkin_url(own), position_body(own)).status_code == 201


def test_cancelled_activities_are_not_open(as_user, community):
    activity = ActivityFactory(community=community, status=Activity.Status.CANCELLED, cancel_reason="雨")
    response = as_user(enrol(activity).user).post(checkin_url(activity), position_body(activity))
    assert response.status_code == 400 and response.json()["code"] == "not_open"


def test_not_enrolled(as_user, community, activity):
    neighbour = factories.UserFactory(community=community)
    response = as_user(neighbour).post(checkin_url(activity), position_body(activity))
    assert response.status_code == 409 and response.json()["code"] == "not_enrolled"
    waiting = enrol(activity, status=Enrollment.Status.WAITLISTED).user
    response = as_user(waiting).post(checkin_url(activity), position_body(activity))
    assert response.status_code == 409 and response.json()["code"] == "not_enrolled"
    assert not CheckIn.objects.exists()


def test_who_may_check_in_is_decided_before_the_code_the_time_and_the_place(as_user, community, other_community):
    activity = ActivityFactory(community=community)
    stale = position_body(activity, token=token(activity, slots_ago=4), metres=5000)
    neighbour = factories.UserFactory(community=community)
    response = as_user(neighbour).post(checkin_url(activity), stale)
    assert response.status_code == 409 and response.json()["code"] == "not_enrolled"
    open_door = ActivityFactory(community=community, enrollment_required=False)
    stranger = factories.UserFactory(community=other_community)
    body = position_body(open_door, token="forged")
    response = as_user(stranger).post(checkin_url(open_door), body)
    assert response.status_code == 403 and response.json()["code"] == "not_in_audience"
    # Only who checked in may check out, whatever their code.
    member = enrol(activity).user
    response = as_user(member).post(checkin_url(activity, "out"), stale)
    assert response.status_code == 409 and response.json()["code"] == "not_checked_in"
    assert not CheckIn.objects.exists()


def test_without_enrolment_the_audience_decides(as_user, community, other_community):
    activity = ActivityFactory(community=community, enrollment_required=False)
    neighbour = factories.UserFactory(community=community)
    assert as_user(neighbour).post(checkin_url(activity), position_body(activity)).status_code == 201
    stranger = factories.UserFactory(community=other_community)
    response = as_user(stranger).post(checkin_url(activity), position_body(activity))
    assert response.status_code == 403 and response.json()["code"] == "not_in_audience"


def test_check_in_on_a_draft_is_not_found(as_user, community):
    draft = ActivityFactory(community=community, status=Activity.Status.DRAFT)
    response = as_user(enrol(draft).user).post(checkin_url(draft), position_body(draft))
    assert response.status_code == 404


def test_attendance_changed_is_emitted_with_counts(
    community, activity, member, captured_events, django_capture_on_commit_callbacks
):
    lat, lon = north_of(VENUE, 10)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        services.check_in(
            activity=activity, by=member, client_id=uuid.uuid4(), token=token(activity), latitude=lat, longitude=lon
        )
    assert captured_events == []
    for callback in callbacks:
        callback()
    changed = [e for e in captured_events if e[0] == "attendance.changed"]
    assert len(changed) == 1
    _name, data, audience = changed[0]
    assert audience.kind == "activity" and audience.ids == (activity.pk,)
    assert data == {
        "activity_id": activity.pk,
        "enrolled": 1,
        "waitlisted": 0,
        "checked_in": 1,
        "checked_out": 0,
        "on_leave": 0,
    }


def test_a_refused_check_in_sends_nothing(
    community, activity, member, captured_events, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(DomainError):
        services.check_in(
            activity=activity, by=member, client_id=uuid.uuid4(), token="bad", latitude=VENUE[0], longitude=VENUE[1]
        )
    assert captured_events == []


# Check-out ------------------------------------------------------------------------------------------


def test_check_out_requires_a_check_in(as_user, activity, member):
    response = as_user(member).post(checkin_url(activity, "out"), position_body(activity))
    assert response.status_code == 409 and response.json()["code"] == "not_checked_in"
    assert as_user(member).post(checkin_url(activity), position_body(activity)).status_code == 201
    body = position_body(activity)
    first = as_user(member).post(checkin_url(activity, "out"), body)
    assert first.status_code == 201 and first.json()["kind"] == "out"
    again = as_user(member).post(checkin_url(activity, "out"), body)
    assert again.status_code == 200 and again.json() == first.json()
    other = as_user(member).post(checkin_url(activity, "out"), position_body(activity))
    assert other.status_code == 409 and other.json()["code"] == "already_checked_in"


def test_check_out_window_runs_past_the_end(community, settings):
    settings.CHECKOUT_CLOSES_AFTER_MINUTES = 120
    now = timezone.now()
    activity = ActivityFactory(
        community=community, starts_at=now - timedelta(hours=2), ends_at=now - timedelta(minutes=90)
    )
    early, late = enrol(activity).user, enrol(activity).user
    for user in (early, late):
        CheckIn.objects.create(
            activity=activity,
            user=user,
            kind="in",
            at=now - timedelta(hours=2),
            client_id=uuid.uuid4(),
            distance_m=3,
            inside=True,
        )
    lat, lon = north_of(VENUE, 10)
    position = {"activity": activity, "latitude": lat, "longitude": lon}
    # 90 minutes after the end: still open.
    assert services.check_out(by=early, client_id=uuid.uuid4(), token=token(activity, now=now), now=now, **position)
    # 121 minutes after the end: closed.
    after = now + timedelta(minutes=31)
    with pytest.raises(DomainError) as caught:
        services.check_out(by=late, client_id=uuid.uuid4(), token=token(activity, now=after), now=after, **position)
    assert caught.value.code == "not_open"
    assert CheckIn.objects.filter(kind="out").count() == 1


def test_service_check_out_announces_the_span_after_commit(community, django_capture_on_commit_callbacks):
    activity = ActivityFactory(community=community, counts_as_service=True, category="volunteer_service")
    user = enrol(activity).user
    spans = []
    registry.checkout_listeners.register("test", lambda *, span: spans.append(span))
    try:
        lat, lon = north_of(VENUE, 10)
        common = {"activity": activity, "by": user, "token": token(activity), "latitude": lat, "longitude": lon}
        with django_capture_on_commit_callbacks(execute=False) as callbacks:
            checked_in = services.check_in(client_id=uuid.uuid4(), **common).check_in
            checked_out = services.check_out(client_id=uuid.uuid4(), **common).check_in
        assert spans == []
        for callback in callbacks:
            callback()
        assert len(spans) == 1
        span = spans[0]
        assert (span.activity_id, span.user_id, span.community_id) == (activity.pk, user.pk, community.pk)
        assert (span.started_at, span.ended_at) == (checked_in.at, checked_out.at)
        assert (span.check_in_id, span.check_out_id) == (checked_in.pk, checked_out.pk)
    finally:
        registry.checkout_listeners.unregister("test")


def test_a_failing_listener_does_not_undo_the_check_out(community, django_capture_on_commit_callbacks):
    activity = ActivityFactory(community=community, counts_as_service=True)
    user = enrol(activity).user

    def broken(*, span):
        raise RuntimeError("volunteers down")

    registry.checkout_listeners.register("broken", broken)
    try:
        lat, lon = north_of(VENUE, 10)
        common = {"activity": activity, "by": user, "token": token(activity), "latitude": lat, "longitude": lon}
        with django_capture_on_commit_callbacks(execute=True):
            services.check_in(client_id=uuid.uuid4(), **common)
            services.check_out(client_id=uuid.uuid4(), **common)
        assert CheckIn.objects.filter(kind="out").count() == 1
    finally:
        registry.checkout_listeners.unregister("broken")


def test_ordinary_activities_announce_no_span(community, django_capture_on_commit_callbacks):
    activity = ActivityFactory(community=community, counts_as_service=False)
    user = enrol(activity).user
    spans = []
    registry.checkout_listeners.register("test", lambda *, span: spans.append(span))
    try:
        lat, lon = north_of(VENUE, 10)
        common = {"activity": activity, "by": user, "token": token(activity), "latitude": lat, "longitude": lon}
        with django_capture_on_commit_callbacks(execute=True):
            services.check_in(client_id=uuid.uuid4(), **common)
            services.check_out(client_id=uuid.uuid4(), **common)
        assert spans == []
    finally:
        registry.checkout_listeners.unregister("test")


# Manual attendance ---------------------------------------------------------------------------------


def test_staff_record_attendance_by_hand(as_user, community, activity):
    staff = factories.staff_of(community)
    elder = factories.UserFactory(community=community)
    url = f"/api/v1/activities/{activity.pk}/attendance/"
    response = as_user(staff).post(url, {"user": elder.pk, "reason": "无智能手机"}, format="json")
    assert response.status_code == 201, response.json()
    data = response.json()
    assert data["manual"] is True and data["recorded_by"] == staff.pk and data["reason"] == "无智能手机"
    again = as_user(staff).post(url, {"user": elder.pk, "reason": "重复"}, format="json")
    assert again.status_code == 409 and again.json()["code"] == "already_checked_in"
    out = as_user(staff).post(url, {"user": elder.pk, "reason": "代签退", "kind": "out"}, format="json")
    assert out.status_code == 201
    assert CheckIn.objects.filter(user=elder, manual=True).count() == 2


def test_manual_attendance_needs_a_reason_and_a_check_in_before_check_out(as_user, community, activity):
    staff = factories.staff_of(community)
    elder = factories.UserFactory(community=community)
    url = f"/api/v1/activities/{activity.pk}/attendance/"
    response = as_user(staff).post(url, {"user": elder.pk, "reason": "  "}, format="json")
    assert response.status_code == 400 and "reason" in response.json()["fields"]
    response = as_user(staff).post(url, {"user": elder.pk, "reason": "代签退", "kind": "out"}, format="json")
    assert response.status_code == 409 and response.json()["code"] == "not_checked_in"
    stranger = factories.UserFactory(community=factories.CommunityFactory())
    response = as_user(staff).post(url, {"user": stranger.pk, "reason": "无手机"}, format="json")
    assert response.status_code == 403 and response.json()["code"] == "not_in_audience"
    assert not CheckIn.objects.exists()


@pytest.mark.parametrize("kind", ["in", "out"])
def test_nobody_records_their_own_attendance_by_hand(as_user, community, activity, kind):
    staff = factories.staff_of(community)
    enrol(activity, staff)
    url = f"/api/v1/activities/{activity.pk}/attendance/"
    # 403 before what is wrong with the request (checking out without a check-in, a time outside the
    # window, a blank reason).
    for at, reason in (
        (None, "本人无手机"),
        ((activity.ends_at + timedelta(days=1)).isoformat(), "本人无手机"),
        (None, ""),
    ):
        body = {"user": staff.pk, "kind": kind, "reason": reason, "at": at}
        response = as_user(staff).post(url, body, format="json")
        assert response.status_code == 403, response.content
        assert response.json()["code"] == "permission_denied" and "本人" in response.json()["detail"]
    assert not CheckIn.objects.exists()
    colleague = factories.staff_of(community)
    response = as_user(colleague).post(url, {"user": staff.pk, "reason": "本人无手机"}, format="json")
    assert response.status_code == 201 and response.json()["recorded_by"] == colleague.pk


def test_residents_cannot_record_attendance(as_user, community, activity, member):
    url = f"/api/v1/activities/{activity.pk}/attendance/"
    response = as_user(member).post(url, {"user": member.pk, "reason": "自己"}, format="json")
    assert response.status_code == 404
    assert not CheckIn.objects.exists()


def test_manual_and_phone_check_ins_cannot_both_exist(community, activity, member):
    staff = factories.staff_of(community)
    services.record_attendance(activity=activity, by=staff, user=member, reason="手机没电")
    lat, lon = north_of(VENUE, 10)
    with pytest.raises(DomainError) as caught:
        services.check_in(
            activity=activity, by=member, client_id=uuid.uuid4(), token=token(activity), latitude=lat, longitude=lon
        )
    assert caught.value.code == "already_checked_in"


def test_check_ins_are_append_only(activity, member):
    row = CheckIn.objects.create(
        activity=activity, user=member, kind="in", client_id=uuid.uuid4(), distance_m=1, inside=True
    )
    with pytest.raises(ValueError):
        row.save()
    with pytest.raises(ValueError):
        row.delete()


# Cost --------------------------------------------------------------------------------------------


def statements(context) -> list[str]:
    """The queries a request makes in production: inside the test's own transaction every atomic
    block adds a SAVEPOINT and its RELEASE, which an autocommit request does not have."""
    return [q["sql"] for q in context.captured_queries if "SAVEPOINT" not in q["sql"]]


def test_a_check_in_takes_few_queries(
    as_user, activity, member, django_assert_max_num_queries, django_capture_on_commit_callbacks
):
    client = as_user(member)
    # Everything the request does, including the counts sent to watchers after the commit: the
    # activity with the caller's enrolment and account state, the insert, the counts. The token
    # is verified without reading the user: the activity's query says whether they are active.
    with django_assert_max_num_queries(5) as context, django_capture_on_commit_callbacks(execute=True):
        response = client.post(checkin_url(activity), position_body(activity))
    assert response.status_code == 201
    assert len(statements(context)) == 3
    body = position_body(activity)
    with django_assert_max_num_queries(5) as context, django_capture_on_commit_callbacks(execute=True):
        response = client.post(checkin_url(activity, "out"), body)
    assert response.status_code == 201
    assert len(statements(context)) == 3
    # A retry: the activity, the insert that fails, the row that won (and here a ROLLBACK TO
    # SAVEPOINT as well).
    with django_assert_max_num_queries(6) as context, django_capture_on_commit_callbacks(execute=True):
        response = client.post(checkin_url(activity, "out"), body)
    assert response.status_code == 200
    assert len(statements(context)) == 3


@pytest.mark.parametrize("kind", ["in", "out"])
def test_a_deactivated_or_deleted_account_is_refused_with_its_token_still_valid(as_user, activity, member, kind):
    if kind == "out":
        assert as_user(member).post(checkin_url(activity), position_body(activity)).status_code == 201
    client = as_user(member)
    before = CheckIn.objects.count()
    member.is_active = False
    member.save(update_fields=["is_active"])
    response = client.post(checkin_url(activity, kind), position_body(activity))
    # The same answer as any other endpoint gives that token.
    assert response.status_code == 401
    assert response.json() == client.get("/api/v1/auth/users/me/").json()
    # Before anything else, as any authentication answers: also where the activity does not exist.
    response = client.post(f"/api/v1/activities/{activity.pk + 1000}/check-{kind}/", position_body(activity))
    assert response.status_code == 401
    assert CheckIn.objects.count() == before


def test_an_account_that_no_longer_exists_is_refused(as_user, activity):
    from backend.accounts.models import User

    ghost = factories.UserFactory()
    client = as_user(ghost)
    User.objects.filter(pk=ghost.pk).delete()
    response = client.post(checkin_url(activity), position_body(activity))
    assert response.status_code == 401
    assert not CheckIn.objects.exists()


def test_a_forged_token_is_refused_before_the_activity_is_read(api, activity, member, django_assert_num_queries):
    api.credentials(HTTP_AUTHORIZATION="Bearer not.a.token")
    with django_assert_num_queries(0):
        response = api.post(checkin_url(activity), position_body(activity))
    assert response.status_code == 401


def test_watchers_get_the_counts_at_most_about_once_a_second(
    community, activity, captured_events, monkeypatch, django_capture_on_commit_callbacks
):
    """During a burst one send goes at once and one more at the end of the interval, carrying the rest."""
    from backend.activities import live

    # A long interval, so that a slow machine does not end it in the middle of the burst.
    monkeypatch.setattr(live, "INTERVAL_SECONDS", 60)
    scheduled = []
    # The tests' task backend runs tasks at once and cannot defer: record what would be deferred.
    monkeypatch.setattr(live, "schedule_trailing", lambda activity_id: scheduled.append(activity_id) or True)
    people = [enrol(activity).user for _ in range(5)]
    lat, lon = north_of(VENUE, 10)

    def arrive(user):
        with django_capture_on_commit_callbacks(execute=True):
            services.check_in(
                activity=activity, by=user, client_id=uuid.uuid4(), token=token(activity), latitude=lat, longitude=lon
            )

    arrive(people[0])
    sent = [data for name, data, _audience in captured_events if name == "attendance.changed"]
    assert [data["checked_in"] for data in sent] == [1]
    for user in people[1:4]:
        arrive(user)
    sent = [data for name, data, _audience in captured_events if name == "attendance.changed"]
    assert len(sent) == 1 and scheduled == [activity.pk]  # one trailing send, however many arrive
    live.send_trailing(activity.pk)  # what the deferred task does when it runs
    sent = [data for name, data, _audience in captured_events if name == "attendance.changed"]
    assert [data["checked_in"] for data in sent] == [1, 4]
    arrive(people[4])  # after the trailing send: a trailing send of its own
    assert scheduled == [activity.pk, activity.pk]
