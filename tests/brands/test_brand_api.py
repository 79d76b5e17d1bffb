"""/api/v1/brands/: public pages hide drafts, staff write their own, uploads are checked."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from backend.brands.models import Brand
from tests import factories

from .factories import BrandFactory, document_upload, image_upload

pytestmark = pytest.mark.django_db

URL = "/api/v1/brands/"


def detail(brand) -> str:
    return f"{URL}{brand.pk}/"


def assert_error(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.content
    body = response.json()
    assert body["code"] == code
    assert isinstance(body["detail"], str) and body["detail"]
    return body


# Reading: public, drafts hidden -----------------------------------------------------------------


def test_public_pages_hide_drafts(api, brand, community, other_community):
    published = BrandFactory(community=other_community, active=True, name="东湖先锋")
    BrandFactory(community=community, status=Brand.Status.RETIRED)
    response = api.get(URL)
    assert response.status_code == 200
    assert [row["name"] for row in response.json()["results"]] == ["东湖先锋"]
    assert api.get(detail(published)).status_code == 200
    assert_error(api.get(detail(brand)), 404, "not_found")


def test_a_draft_is_seen_by_its_communitys_staff_and_street_admins_only(
    as_user, brand, secretary, street_admin, other_staff, foreign_admin, resident
):
    for user in (secretary, street_admin):
        response = as_user(user).get(detail(brand))
        assert response.status_code == 200
        assert response.json()["status"] == "draft"
        assert [row["id"] for row in as_user(user).get(URL).json()["results"]] == [brand.pk]
    for user in (other_staff, foreign_admin, resident):
        assert_error(as_user(user).get(detail(brand)), 404, "not_found")
        assert as_user(user).get(URL).json()["results"] == []


def test_brand_shape(api, community):
    owner = factories.UserFactory()
    brand = BrandFactory(
        community=community,
        active=True,
        logo=image_upload(owner),
        method_name="四议两公开",
        method_problem="居民议事难",
        method_steps=["提议", "商议"],
    )
    body = api.get(detail(brand)).json()
    assert body["community"] == community.pk
    assert body["community_name"] == community.name
    assert body["street"] == community.street_id
    assert body["working_method"] == {"name": "四议两公开", "problem": "居民议事难", "steps": ["提议", "商议"]}
    assert body["logo"] == brand.logo_id
    assert body["logo_image"]["url"].startswith("http://testserver/media/uploads/")
    assert body["logo_image"]["thumbnail_url"].split("?")[0].endswith("_thumb.jpg")


def test_list_filters(api, street, community, other_community):
    BrandFactory(community=community, active=True)
    BrandFactory(community=other_community, active=True)
    BrandFactory(community=factories.CommunityFactory(), active=True)
    assert api.get(URL, {"community": community.pk}).json()["count"] == 1
    assert api.get(URL, {"street": street.pk}).json()["count"] == 2


def test_list_queries_do_not_grow_with_rows(api, as_user, street, street_admin):
    owner = factories.UserFactory()

    def count_queries(client) -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(URL).status_code == 200
        return len(ctx)

    for _ in range(2):
        BrandFactory(community=factories.CommunityFactory(street=street), active=True, logo=image_upload(owner))
    few_public, few_admin = count_queries(api), count_queries(as_user(street_admin))
    for _ in range(6):
        BrandFactory(community=factories.CommunityFactory(street=street), logo=image_upload(owner))
        BrandFactory(community=factories.CommunityFactory(street=street), active=True, logo=image_upload(owner))
    assert count_queries(api) == few_public
    assert count_queries(as_user(street_admin)) == few_admin


# Writing ----------------------------------------------------------------------------------------


def test_community_staff_create_their_brand(as_user, community, secretary):
    logo = image_upload(secretary)
    payload = {
        "community": community.pk,
        "name": "岳阳楼下党旗红",
        "slogan": "传承红色基因",
        "description": "老字号党建品牌",
        "logo": logo.pk,
        "working_method": {"name": "四议两公开", "problem": "议事难", "steps": ["提议", "商议", "决议"]},
    }
    response = as_user(secretary).post(URL, payload, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["status"] == "draft"
    assert body["logo"] == logo.pk
    assert body["working_method"]["steps"] == ["提议", "商议", "决议"]
    brand = Brand.objects.get()
    assert (brand.community, brand.created_by, brand.method_name) == (community, secretary, "四议两公开")


def test_street_admin_creates_for_a_community_of_the_street(as_user, other_community, street_admin):
    response = as_user(street_admin).post(URL, {"community": other_community.pk, "name": "东湖先锋"}, format="json")
    assert response.status_code == 201
    assert response.json()["community"] == other_community.pk


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"name": ""}, "name"),
        ({"name": "x" * 101}, "name"),
        ({"community": None}, "community"),
        ({"community": 999999}, "community"),
        ({"working_method": {"steps": "不是列表"}}, "working_method.steps"),
        ({"working_method": {"steps": ["步骤"] * 21}}, "working_method.steps"),
        ({"logo": "abc"}, "logo"),
    ],
)
def test_bad_brand_input_is_refused_and_nothing_is_written(as_user, community, secretary, payload, field):
    body = {"community": community.pk, "name": "品牌", **payload}
    error = assert_error(as_user(secretary).post(URL, body, format="json"), 400, "validation_error")
    assert field in error["fields"]
    assert not Brand.objects.exists()


def test_another_communitys_id_is_refused_like_a_missing_one(as_user, other_community, secretary):
    error = assert_error(
        as_user(secretary).post(URL, {"community": other_community.pk, "name": "越界"}, format="json"),
        400,
        "validation_error",
    )
    assert "community" in error["fields"]
    assert not Brand.objects.exists()


def test_logo_must_be_the_callers_own_image(as_user, community, secretary, staff):
    someone_elses = image_upload(staff)
    not_an_image = document_upload(secretary)
    for logo in (someone_elses, not_an_image):
        error = assert_error(
            as_user(secretary).post(URL, {"community": community.pk, "name": "品牌", "logo": logo.pk}, format="json"),
            400,
            "validation_error",
        )
        assert "logo" in error["fields"]
    assert not Brand.objects.exists()


def test_residents_cannot_create_and_anonymous_must_sign_in(api, as_user, community, resident):
    payload = {"community": community.pk, "name": "品牌"}
    assert_error(as_user(resident).post(URL, payload, format="json"), 403, "permission_denied")
    assert_error(api.post(URL, payload, format="json"), 401, "not_authenticated")
    assert not Brand.objects.exists()


def test_edit_own_brand_and_keep_a_colleagues_logo(as_user, brand, secretary, staff, street_admin):
    brand.logo = image_upload(staff)
    brand.save()
    response = as_user(secretary).patch(
        detail(brand),
        {"slogan": "新口号", "logo": brand.logo_id, "working_method": {"steps": ["一", "二"]}},
        format="json",
    )
    assert response.status_code == 200, response.content
    brand.refresh_from_db()
    assert (brand.slogan, brand.method_steps) == ("新口号", ["一", "二"])
    # The street's admin edits it too, through the mini-program's POST + override header.
    response = as_user(street_admin).post(
        detail(brand), {"name": "岳阳楼下党旗红·新"}, format="json", HTTP_X_HTTP_METHOD_OVERRIDE="PATCH"
    )
    assert response.status_code == 200
    brand.refresh_from_db()
    assert brand.name == "岳阳楼下党旗红·新"


def test_a_brand_stays_with_its_community(as_user, brand, other_community, street_admin):
    response = as_user(street_admin).patch(detail(brand), {"community": other_community.pk}, format="json")
    assert response.status_code == 200
    brand.refresh_from_db()
    assert brand.community_id != other_community.pk


def test_another_communitys_staff_cannot_edit_or_see_a_draft(as_user, brand, other_staff, foreign_admin):
    for user in (other_staff, foreign_admin):
        assert_error(as_user(user).patch(detail(brand), {"name": "改"}, format="json"), 404, "not_found")
        assert_error(as_user(user).delete(detail(brand)), 404, "not_found")
        assert_error(as_user(user).post(f"{detail(brand)}publish/"), 404, "not_found")
    brand.refresh_from_db()
    assert (brand.name, brand.status) == ("岳阳楼下党旗红", "draft")


def test_a_published_brand_of_another_community_is_readable_but_not_editable(as_user, brand, other_staff):
    brand.status = Brand.Status.ACTIVE
    brand.save()
    assert as_user(other_staff).get(detail(brand)).status_code == 200
    assert_error(as_user(other_staff).patch(detail(brand), {"name": "改"}, format="json"), 403, "permission_denied")
    assert_error(as_user(other_staff).post(f"{detail(brand)}retire/"), 403, "permission_denied")
    brand.refresh_from_db()
    assert (brand.name, brand.status) == ("岳阳楼下党旗红", "active")


def test_bad_edit_writes_nothing(as_user, brand, secretary):
    assert_error(as_user(secretary).patch(detail(brand), {"name": ""}, format="json"), 400, "validation_error")
    brand.refresh_from_db()
    assert brand.name == "岳阳楼下党旗红"


def test_publish_retire_and_their_invalid_steps(as_user, api, brand, community, secretary):
    old = BrandFactory(community=community, active=True)
    response = as_user(secretary).post(f"{detail(brand)}publish/")
    assert response.status_code == 200
    assert response.json()["status"] == "active"
    old.refresh_from_db()
    assert old.status == "retired"
    assert api.get(detail(brand)).status_code == 200
    assert_error(as_user(secretary).post(f"{detail(brand)}publish/"), 409, "invalid_transition")
    assert_error(as_user(secretary).delete(detail(brand)), 409, "invalid_transition")
    assert as_user(secretary).post(f"{detail(brand)}retire/").json()["status"] == "retired"
    assert_error(as_user(secretary).post(f"{detail(brand)}retire/"), 409, "invalid_transition")
    assert_error(api.get(detail(brand)), 404, "not_found")


def test_delete_a_draft(as_user, brand, secretary):
    assert as_user(secretary).delete(detail(brand)).status_code == 204
    assert not Brand.objects.exists()


def test_put_is_not_offered(as_user, brand, secretary):
    assert_error(as_user(secretary).put(detail(brand), {"name": "x"}, format="json"), 405, "method_not_allowed")


def test_deadlines_path_is_not_read_as_a_brand(as_user, street_admin):
    response = as_user(street_admin).get(f"{URL}deadlines/")
    assert response.status_code == 200
    assert response.json()["results"] == []
