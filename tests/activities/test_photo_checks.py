"""Activity photos and content checks: a picture reaches the other participants once WeChat's verdict
has been pushed; whoever added it and the activity's staff see it all along, marked."""

from __future__ import annotations

import pytest

from backend.activities import services
from backend.core import moderation
from backend.core.models import ContentCheck
from backend.notices.models import NoticeReceipt
from devtools.fake_wechat import REVIEW_MARKER, RISKY_MARKER
from tests import factories
from tests.activities.factories import ActivityFactory, enrol, image_upload
from tests.core.moderation_helpers import checks_of, push_all, with_openid

pytestmark = pytest.mark.django_db

Status = ContentCheck.Status


def photos(client, activity) -> list[dict]:
    response = client.get(f"/api/v1/activities/{activity.pk}/photos/")
    assert response.status_code == 200
    return response.json()


def detail_photos(client, activity) -> list[dict]:
    return client.get(f"/api/v1/activities/{activity.pk}/").json()["photos"]


@pytest.fixture
def activity(community):
    return ActivityFactory(community=community)


@pytest.fixture
def participant(activity):
    return with_openid(enrol(activity).user, "fay")


@pytest.fixture
def other(activity):
    return enrol(activity).user


def add_photo(as_user, capture, activity, user, **upload) -> dict:
    picture = image_upload(user, **upload)
    with capture(execute=True):
        response = as_user(user).post(
            f"/api/v1/activities/{activity.pk}/photos/", {"uploads": [picture.pk]}, format="json"
        )
    assert response.status_code == 201, response.json()
    (added,) = [p for p in response.json() if p["upload"] == picture.pk]
    return added


def test_a_photo_shows_to_other_participants_once_passed(
    content_checks, api, as_user, activity, participant, other, community, django_capture_on_commit_callbacks
):
    added = add_photo(as_user, django_capture_on_commit_callbacks, activity, participant)
    assert added["content_review"] == "pending"
    assert photos(as_user(other), activity) == [] and detail_photos(as_user(other), activity) == []
    assert [p["content_review"] for p in photos(as_user(participant), activity)] == ["pending"]
    staff = factories.staff_of(community)
    assert [p["content_review"] for p in detail_photos(as_user(staff), activity)] == ["pending"]
    (call,) = content_checks.calls_to("/wxa/media_check_async")
    assert call.body["scene"] == moderation.SCENE_SOCIAL and call.body["openid"] == participant.wechat_openid

    with django_capture_on_commit_callbacks(execute=True):
        assert push_all(api, content_checks) == [200]
    (shown,) = photos(as_user(other), activity)
    assert shown["id"] == added["id"] and shown["content_review"] is None
    assert len(detail_photos(as_user(other), activity)) == 1


def test_a_risky_photo_is_never_shown_and_its_author_is_told(
    content_checks, api, as_user, activity, participant, other, django_capture_on_commit_callbacks
):
    add_photo(
        as_user, django_capture_on_commit_callbacks, activity, participant, file=f"uploads/test/{RISKY_MARKER}.jpg"
    )
    with django_capture_on_commit_callbacks(execute=True):
        push_all(api, content_checks)
    assert photos(as_user(other), activity) == []
    assert [p["content_review"] for p in photos(as_user(participant), activity)] == ["rejected"]
    (receipt,) = NoticeReceipt.objects.filter(user=participant).select_related("notice")
    assert "图片" in receipt.notice.body


def test_a_photo_wechat_wants_reviewed_waits_for_the_activitys_staff(
    content_checks, api, as_user, activity, participant, other, community, django_capture_on_commit_callbacks
):
    added = add_photo(
        as_user, django_capture_on_commit_callbacks, activity, participant, file=f"uploads/test/{REVIEW_MARKER}.jpg"
    )
    push_all(api, content_checks)
    (check,) = checks_of(activity.photos.get(pk=added["id"]))
    assert check.status == Status.REVIEW
    moderation.decide(check=check, by=factories.staff_of(community), approve=True)
    assert [p["id"] for p in photos(as_user(other), activity)] == [added["id"]]


def test_one_check_per_photo(content_checks, as_user, activity, participant, django_capture_on_commit_callbacks):
    first, second = image_upload(participant), image_upload(participant)
    url = f"/api/v1/activities/{activity.pk}/photos/"
    with django_capture_on_commit_callbacks(execute=True):
        assert as_user(participant).post(url, {"uploads": [first.pk, second.pk]}, format="json").status_code == 201
        assert as_user(participant).post(url, {"uploads": [first.pk]}, format="json").status_code == 201
    assert ContentCheck.objects.filter(target="activities.activityphoto").count() == 2
    assert len(content_checks.calls_to("/wxa/media_check_async")) == 2


def test_photo_list_queries_stay_flat_with_checks(
    content_checks, as_user, activity, participant, other, django_assert_max_num_queries
):
    services.attach_photos(activity=activity, by=participant, uploads=[image_upload(participant) for _ in range(2)])
    with django_assert_max_num_queries(10) as few_held:
        assert photos(as_user(other), activity) == []
    with django_assert_max_num_queries(10) as few_own:
        assert len(photos(as_user(participant), activity)) == 2
    services.attach_photos(activity=activity, by=participant, uploads=[image_upload(participant) for _ in range(8)])
    with django_assert_max_num_queries(len(few_held.captured_queries)):
        assert photos(as_user(other), activity) == []
    with django_assert_max_num_queries(len(few_own.captured_queries)):
        assert len(photos(as_user(participant), activity)) == 10
