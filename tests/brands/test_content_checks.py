"""Brand pages and content checks: staff write brand pages, and what they publish in their own scope
is published on their authority (recorded as passed by them), never held for WeChat or for a second
staff member: the public page appears when the brand is published."""

from __future__ import annotations

import pytest

from backend.brands import services
from backend.brands.models import Brand
from backend.core.models import ContentCheck
from devtools.fake_wechat import RISKY_MARKER
from tests import factories
from tests.core.moderation_helpers import checks_of, take_wechat_down, with_openid

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


def on_authority(brand_id: int, by) -> bool:
    checks = checks_of(Brand.objects.get(pk=brand_id))
    return bool(checks) and all(
        (c.status, c.reason, c.decided_by_id) == (Status.PASSED, "staff_authority", by.pk) for c in checks
    )


def test_a_published_page_is_public_at_once_on_the_writers_authority(
    content_checks, api, as_user, writer, community, django_capture_on_commit_callbacks
):
    brand_id = create_and_publish(as_user, writer, community, django_capture_on_commit_callbacks)
    assert public_ids(api) == [brand_id]
    assert api.get(f"{URL}{brand_id}/").json()["content_review"] is None
    assert api.get(f"/api/v1/brands/{brand_id}/figures/").status_code == 200
    assert on_authority(brand_id, writer)
    assert content_checks.calls_to("/wxa/msg_sec_check") == []


def test_a_page_with_a_logo_is_public_without_waiting_for_wechat(
    content_checks, api, as_user, writer, community, django_capture_on_commit_callbacks
):
    logo = image_upload(writer)
    brand_id = create_and_publish(as_user, writer, community, django_capture_on_commit_callbacks, logo=logo.pk)
    assert public_ids(api) == [brand_id]
    assert on_authority(brand_id, writer) and len(checks_of(Brand.objects.get(pk=brand_id))) == 2
    assert content_checks.calls_to("/wxa/media_check_async") == []


def test_an_edit_stays_public_and_is_recorded_again(
    content_checks, settings, api, as_user, writer, community, street_admin, django_capture_on_commit_callbacks
):
    brand_id = create_and_publish(as_user, writer, community, django_capture_on_commit_callbacks)
    take_wechat_down(settings)
    with django_capture_on_commit_callbacks(execute=True):
        response = as_user(street_admin).patch(f"{URL}{brand_id}/", {"description": f"简介{RISKY_MARKER}"})
    assert response.status_code == 200
    assert public_ids(api) == [brand_id]
    assert on_authority(brand_id, street_admin)


def test_a_page_written_in_the_console_without_wechat_is_public_when_published(
    content_checks, api, community, secretary, django_capture_on_commit_callbacks
):
    """The hole: a secretary's page waited in 内容审核 for another staff member."""
    with django_capture_on_commit_callbacks(execute=True):
        brand = services.create_brand(by=secretary, community=community, name="邻里守望")
        assert public_ids(api) == []  # a draft
        services.publish_brand(by=secretary, brand=brand)
    assert public_ids(api) == [brand.pk]
    (check,) = checks_of(brand)
    assert (check.status, check.reason, check.decided_by) == (Status.PASSED, "staff_authority", secretary)


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
    places = [factories.CommunityFactory(street=community.street) for _ in range(10)]
    staff = as_user(street_admin)

    def add(n):
        for _ in range(n):
            brand = services.create_brand(by=street_admin, community=places.pop(), name="品牌")
            services.publish_brand(by=street_admin, brand=brand)

    add(2)
    with django_assert_max_num_queries(6) as few_public:
        assert api.get(URL).json()["count"] == 2
    with django_assert_max_num_queries(10) as few_staff:
        assert staff.get(URL).json()["count"] == 2
    add(8)
    with django_assert_max_num_queries(len(few_public.captured_queries)):
        assert api.get(URL).json()["count"] == 10
    with django_assert_max_num_queries(len(few_staff.captured_queries)):
        rows = staff.get(URL).json()
    assert rows["count"] == 10 and {row["content_review"] for row in rows["results"]} == {None}
