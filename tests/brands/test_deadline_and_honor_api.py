"""/api/v1/brands/deadlines/ (street admins) and /api/v1/honors/ (street admins write, signed-in users read)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from backend.brands.models import BrandDeadline, BrandDeadlineCommunity, Honor
from tests import factories

from .factories import BrandFactory, HonorFactory, deadline_for

pytestmark = pytest.mark.django_db

DEADLINES = "/api/v1/brands/deadlines/"
HONORS = "/api/v1/honors/"


def assert_error(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.content
    body = response.json()
    assert body["code"] == code
    return body


# Deadlines --------------------------------------------------------------------------------------


def test_street_admin_sets_the_two_deadlines(as_user, street, street_admin):
    four = [
        factories.CommunityFactory(street=street, name=n) for n in ("岳阳楼社区", "东湖社区", "郭亮社区", "庙前街社区")
    ]
    rest = [factories.CommunityFactory(street=street, name=n) for n in ("九华山社区", "洞庭社区")]
    client = as_user(street_admin)
    july = client.post(
        DEADLINES,
        {"street": street.pk, "title": "七一表彰大会前", "due_date": "2026-07-01", "communities": [c.pk for c in four]},
        format="json",
    )
    assert july.status_code == 201, july.content
    assert july.json()["year"] == 2026
    assert sorted(july.json()["communities"]) == sorted(c.pk for c in four)
    october = client.post(
        DEADLINES,
        {"street": street.pk, "due_date": "2026-10-31", "communities": [c.pk for c in rest]},
        format="json",
    )
    assert october.status_code == 201
    listing = client.get(DEADLINES).json()
    assert [row["due_date"] for row in listing["results"]] == ["2026-07-01", "2026-10-31"]
    assert client.get(DEADLINES, {"community": rest[0].pk}).json()["count"] == 1
    assert client.get(DEADLINES, {"year": 2027}).json()["count"] == 0

    moved = client.patch(f"{DEADLINES}{october.json()['id']}/", {"due_date": "2026-10-30"}, format="json")
    assert moved.status_code == 200
    assert moved.json()["due_date"] == "2026-10-30"
    assert client.delete(f"{DEADLINES}{july.json()['id']}/").status_code == 204
    assert BrandDeadline.objects.count() == 1


def test_a_community_is_under_one_deadline_a_year(as_user, street, community, other_community, street_admin):
    deadline_for(street, [community], dt.date(2026, 7, 1))
    error = assert_error(
        as_user(street_admin).post(
            DEADLINES,
            {"street": street.pk, "due_date": "2026-10-31", "communities": [other_community.pk, community.pk]},
            format="json",
        ),
        400,
        "validation_error",
    )
    assert "communities" in error["fields"]
    assert BrandDeadline.objects.count() == 1
    assert BrandDeadlineCommunity.objects.count() == 1


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"communities": []}, "communities"),
        ({"communities": [999999]}, "communities"),
        ({"due_date": "07-01"}, "due_date"),
        ({"due_date": None}, "due_date"),
        ({"street": 999999}, "street"),
        ({"title": "x" * 101}, "title"),
    ],
)
def test_bad_deadline_input_writes_nothing(as_user, street, community, street_admin, payload, field):
    body = {"street": street.pk, "due_date": "2026-07-01", "communities": [community.pk], **payload}
    error = assert_error(as_user(street_admin).post(DEADLINES, body, format="json"), 400, "validation_error")
    assert field in error["fields"]
    assert not BrandDeadline.objects.exists()


def test_another_streets_places_are_refused(as_user, street, community, foreign_admin, street_admin):
    foreign_street = factories.StreetFactory()
    foreign_community = factories.CommunityFactory(street=foreign_street)
    # The foreign admin cannot name this street; this admin cannot name a foreign community.
    error = assert_error(
        as_user(foreign_admin).post(
            DEADLINES, {"street": street.pk, "due_date": "2026-07-01", "communities": [community.pk]}, format="json"
        ),
        400,
        "validation_error",
    )
    assert "street" in error["fields"]
    error = assert_error(
        as_user(street_admin).post(
            DEADLINES,
            {"street": street.pk, "due_date": "2026-07-01", "communities": [foreign_community.pk]},
            format="json",
        ),
        400,
        "validation_error",
    )
    assert "communities" in error["fields"]
    assert not BrandDeadline.objects.exists()


def test_deadlines_are_for_street_admins(api, as_user, street, community, secretary, resident, foreign_admin):
    deadline = deadline_for(street, [community], dt.date(2026, 7, 1))
    assert_error(api.get(DEADLINES), 401, "not_authenticated")
    for user in (secretary, resident):
        assert_error(as_user(user).get(DEADLINES), 403, "permission_denied")
        assert_error(
            as_user(user).post(
                DEADLINES, {"street": street.pk, "due_date": "2026-07-01", "communities": [community.pk]}
            ),
            403,
            "permission_denied",
        )
    assert as_user(foreign_admin).get(DEADLINES).json()["results"] == []
    assert_error(as_user(foreign_admin).get(f"{DEADLINES}{deadline.pk}/"), 404, "not_found")
    assert_error(
        as_user(foreign_admin).patch(f"{DEADLINES}{deadline.pk}/", {"due_date": "2026-08-01"}), 404, "not_found"
    )
    assert_error(as_user(foreign_admin).delete(f"{DEADLINES}{deadline.pk}/"), 404, "not_found")
    deadline.refresh_from_db()
    assert deadline.due_date == dt.date(2026, 7, 1)


def test_deadline_list_queries_do_not_grow_with_rows(as_user, street, street_admin):
    def count_queries() -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert as_user(street_admin).get(DEADLINES).status_code == 200
        return len(ctx)

    def add(year: int) -> None:
        communities = [factories.CommunityFactory(street=street) for _ in range(3)]
        deadline_for(street, communities, dt.date(year, 7, 1))

    add(2020)
    few = count_queries()
    for year in range(2021, 2027):
        add(year)
    assert count_queries() == few


# Honours ----------------------------------------------------------------------------------------


def test_street_admin_records_honors_for_a_brand_or_an_organization(as_user, street, community, street_admin):
    brand = BrandFactory(community=community, active=True)
    committee = factories.OrganizationFactory(community=None, street=street, kind="working_committee")
    client = as_user(street_admin)
    for target in ({"brand": brand.pk}, {"organization": committee.pk}):
        response = client.post(
            HONORS,
            {
                **target,
                "level": "provincial",
                "title": "全省先进基层党组织",
                "issuer": "中共湖南省委",
                "awarded_on": "2026-07-01",
            },
            format="json",
        )
        assert response.status_code == 201, response.content
        assert response.json()["street"] == street.pk
    body = client.get(HONORS, {"brand": brand.pk}).json()["results"][0]
    assert (body["brand_name"], body["organization"], body["level"]) == (brand.name, None, "provincial")
    honor_id = body["id"]
    patched = client.patch(f"{HONORS}{honor_id}/", {"level": "national", "title": "全国先进基层党组织"}, format="json")
    assert patched.json()["level"] == "national"
    assert client.delete(f"{HONORS}{honor_id}/").status_code == 204
    assert Honor.objects.count() == 1


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({}, "non_field_errors"),
        ({"brand": "B", "organization": "O"}, "non_field_errors"),
        ({"organization": "O", "level": "street"}, "level"),
        ({"organization": "O", "title": ""}, "title"),
        ({"organization": "O", "issuer": ""}, "issuer"),
        ({"organization": "O", "awarded_on": "2999-01-01"}, "awarded_on"),
        ({"brand": "DRAFT"}, "brand"),
        ({"organization": 999999}, "organization"),
    ],
)
def test_bad_honor_input_writes_nothing(as_user, community, street_admin, payload, field):
    ids = {
        "B": BrandFactory(community=community, active=True).pk,
        "O": factories.OrganizationFactory(community=community).pk,
        "DRAFT": BrandFactory(community=community).pk,
    }
    body = {"level": "district", "title": "先进", "issuer": "区委", "awarded_on": "2026-07-01"}
    body.update({key: ids.get(value, value) if isinstance(value, str) else value for key, value in payload.items()})
    error = assert_error(as_user(street_admin).post(HONORS, body, format="json"), 400, "validation_error")
    assert field in error["fields"]
    assert not Honor.objects.exists()


def test_honors_are_read_by_the_signed_in_and_written_by_street_admins(
    api, as_user, community, secretary, resident, foreign_admin
):
    honor = HonorFactory(organization=factories.OrganizationFactory(community=community))
    assert_error(api.get(HONORS), 401, "not_authenticated")
    assert as_user(resident).get(HONORS).json()["count"] == 1
    assert as_user(resident).get(f"{HONORS}{honor.pk}/").status_code == 200
    body = {
        "organization": honor.organization_id,
        "level": "district",
        "title": "x",
        "issuer": "y",
        "awarded_on": "2026-01-01",
    }
    for user in (secretary, resident):
        assert_error(as_user(user).post(HONORS, body, format="json"), 403, "permission_denied")
        assert_error(
            as_user(user).patch(f"{HONORS}{honor.pk}/", {"title": "改"}, format="json"), 403, "permission_denied"
        )
    # Another street's admin: the organisation is outside their choices; the honour is not theirs to change.
    assert_error(as_user(foreign_admin).post(HONORS, body, format="json"), 400, "validation_error")
    assert_error(
        as_user(foreign_admin).patch(f"{HONORS}{honor.pk}/", {"title": "改"}, format="json"), 403, "permission_denied"
    )
    assert_error(as_user(foreign_admin).delete(f"{HONORS}{honor.pk}/"), 403, "permission_denied")
    honor.refresh_from_db()
    assert honor.title.startswith("优秀基层党组织")
    assert Honor.objects.count() == 1


def test_honor_list_queries_do_not_grow_with_rows(as_user, street, resident):
    def count_queries() -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert as_user(resident).get(HONORS).status_code == 200
        return len(ctx)

    def add() -> None:
        community = factories.CommunityFactory(street=street)
        HonorFactory(organization=factories.OrganizationFactory(community=community))
        HonorFactory(organization=None, brand=BrandFactory(community=community, active=True), street=street)

    add()
    few = count_queries()
    for _ in range(5):
        add()
    assert count_queries() == few
