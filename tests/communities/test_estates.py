import pytest

from backend.communities.models import Estate
from tests import factories

pytestmark = pytest.mark.django_db


def test_secretary_creates_estate_in_own_community(community, as_user):
    secretary = factories.staff_of(community)
    response = as_user(secretary).post(
        "/api/v1/estates/",
        {
            "community": community.id,
            "name": "天润小区",
            "address": "九华山路1号",
            "households": 320,
            "has_property_service": False,
        },
    )
    assert response.status_code == 201, response.json()
    assert response.json()["name"] == "天润小区"
    assert Estate.objects.get().has_property_service is False


def test_secretary_gets_404_patching_other_communitys_estate(community, other_community, as_user):
    secretary = factories.staff_of(community)
    estate = factories.EstateFactory(community=other_community, name="磷化小区")
    response = as_user(secretary).patch(f"/api/v1/estates/{estate.id}/", {"name": "改名"})
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"
    estate.refresh_from_db()
    assert estate.name == "磷化小区"


def test_create_in_other_community_is_a_validation_error(community, other_community, as_user):
    secretary = factories.staff_of(community)
    response = as_user(secretary).post("/api/v1/estates/", {"community": other_community.id, "name": "x"})
    assert response.status_code == 400
    assert response.json()["code"] == "validation_error"
    assert "community" in response.json()["fields"]
    assert not Estate.objects.exists()


def test_method_override_patch(community, as_user):
    secretary = factories.staff_of(community)
    estate = factories.EstateFactory(community=community)
    response = as_user(secretary).post(
        f"/api/v1/estates/{estate.id}/", {"households": 99}, HTTP_X_HTTP_METHOD_OVERRIDE="PATCH"
    )
    assert response.status_code == 200, response.json()
    estate.refresh_from_db()
    assert estate.households == 99
