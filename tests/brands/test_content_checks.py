"""Brand pages and content checks: a published page is public once WeChat has passed its text and
logo; the community's staff and the street admins see it all along, marked."""

from __future__ import annotations

import pytest

from backend.brands import services
from backend.brands.models import Brand
from backend.core import moderation
from backend.core.models import ContentCheck
from devtools.fake_wechat import RISKY_MARKER
from tests import factories
from tests.core.moderation_helpers import checks_of, push_all, take_wechat_down, with_openid

from .factories import image_upload

pytestmark = pytest.mark.django_db

URL = "/api/v1/brands/"
Status = ContentCheck.Status


@pytest.fixture
def writer(secretary):
    return with_openid(secretary, "gao")


def create_and_publish(as_user, writer, community, capture, **extra) -> int:
    client = as_user(writer)
    with capture(execute=True):
        created = client.post(URL, {"community": community.id, "name": "红色物业先锋", "slogan": "党建引领", **extra})
        assert created.status_code == 201, created.json()
        brand_id = created.json()["id"]
        assert client.post(f"{URL}{brand_id}/publish/").status_code == 200
    return brand_id


def public_ids(api) -> list[int]:
    return [row["id"] for row in api.get(URL).json()["results"]]


def test_a_published_page_is_public_once_its_text_has_passed(
    content_checks, api, as_user, writer, community, street_admin, django_capture_on_commit_callbacks
):
    brand_id = create_and_publish(as_user, writer, community, django_capture_on_commit_callbacks)
    assert public_ids(api) == [brand_id]
    assert api.get(f"{URL}{brand_id}/").json()["content_review"] is None
    (call,) = content_checks.calls_to("/wxa/msg_sec_check")
    assert call.body["scene"] == moderation.SCENE_PROFILE and call.body["content"] == "红色物业先锋\n党建引领"
    assert api.get(f"/api/v1/brands/{brand_id}/figures/").status_code == 200


def test_a_page_waiting_for_its_logo_is_hidden_from_the_public_not_from_staff(
    content_checks, api, as_user, writer, community, street_admin, django_capture_on_commit_callbacks
):
    logo = image_upload(writer)
    brand_id = create_and_publish(as_user, writer, community, django_capture_on_commit_callbacks, logo=logo.pk)
    assert public_ids(api) == []
    assert api.get(f"{URL}{brand_id}/").status_code == 404
    assert api.get(f"/api/v1/brands/{brand_id}/figures/").status_code == 404
    assert as_user(street_admin).get(f"{URL}{brand_id}/").json()["content_review"] == "pending"
    with django_capture_on_commit_callbacks(execute=True):
        assert push_all(api, content_checks) == [200]
    assert public_ids(api) == [brand_id]


def test_an_edit_is_checked_again_and_a_risky_one_takes_the_page_down(
    content_checks, api, as_user, writer, community, django_capture_on_commit_callbacks
):
    brand_id = create_and_publish(as_user, writer, community, django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True):
        response = as_user(writer).patch(f"{URL}{brand_id}/", {"description": f"简介{RISKY_MARKER}"})
    assert response.status_code == 200
    assert public_ids(api) == []
    (check,) = checks_of(Brand.objects.get(pk=brand_id))
    assert check.status == Status.REJECTED
    assert as_user(writer).get(f"{URL}{brand_id}/").json()["content_review"] == "rejected"


def test_saving_the_same_text_again_keeps_the_page_up(
    content_checks, settings, api, as_user, writer, community, django_capture_on_commit_callbacks
):
    brand_id = create_and_publish(as_user, writer, community, django_capture_on_commit_callbacks)
    take_wechat_down(settings)
    with django_capture_on_commit_callbacks(execute=True):
        assert as_user(writer).patch(f"{URL}{brand_id}/", {"slogan": "党建引领"}).status_code == 200
    assert public_ids(api) == [brand_id]


def test_a_page_written_in_the_console_without_wechat_waits_for_the_street(
    content_checks, api, community, secretary, street_admin, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        brand = services.create_brand(actor=secretary, community=community, name="邻里守望")
        services.publish_brand(actor=secretary, brand=brand)
    (check,) = checks_of(brand)
    assert (check.status, check.reason) == (Status.REVIEW, "no_openid")
    assert public_ids(api) == []
    moderation.decide(check=check, by=street_admin, approve=True)
    assert public_ids(api) == [brand.pk]


def test_deleting_a_draft_forgets_its_checks(
    content_checks, as_user, writer, community, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        created = as_user(writer).post(URL, {"community": community.id, "name": "草稿品牌"})
    assert ContentCheck.objects.count() == 1
    assert as_user(writer).delete(f"{URL}{created.json()['id']}/").status_code == 204
    assert not ContentCheck.objects.exists()


def test_the_lists_stay_flat_in_queries_with_checks(
    content_checks, api, as_user, community, street_admin, django_assert_max_num_queries
):
    # Nothing commits in this test: every check stays pending, every page held from the public.
    places = [factories.CommunityFactory(street=community.street) for _ in range(10)]
    staff = as_user(street_admin)

    def add(n):
        for _ in range(n):
            brand = services.create_brand(actor=street_admin, community=places.pop(), name="品牌")
            services.publish_brand(actor=street_admin, brand=brand)

    add(2)
    with django_assert_max_num_queries(6) as few_public:
        assert api.get(URL).json()["count"] == 0
    with django_assert_max_num_queries(10) as few_staff:
        assert staff.get(URL).json()["count"] == 2
    add(8)
    with django_assert_max_num_queries(len(few_public.captured_queries)):
        assert api.get(URL).json()["count"] == 0
    with django_assert_max_num_queries(len(few_staff.captured_queries)):
        rows = staff.get(URL).json()
    assert rows["count"] == 10 and {row["content_review"] for row in rows["results"]} == {"pending"}
