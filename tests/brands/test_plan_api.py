"""/api/v1/brands/{id}/plans/: versions, the street's review, due dates in Shanghai days, scope."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from backend.brands.models import BrandPlan
from tests import factories

from .factories import BrandFactory, PlanFactory, deadline_for, document_upload, image_upload

pytestmark = pytest.mark.django_db


def plans_url(brand) -> str:
    return f"/api/v1/brands/{brand.pk}/plans/"


def plan_url(plan, step: str = "") -> str:
    return f"{plans_url(plan.brand)}{plan.pk}/{step + '/' if step else ''}"


def assert_error(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.content
    body = response.json()
    assert body["code"] == code
    return body


def test_the_review_flow_through_the_api(
    as_user, brand, secretary, street_admin, captured_events, django_capture_on_commit_callbacks
):
    pdf, photo = document_upload(secretary), image_upload(secretary)
    community_client, street_client = as_user(secretary), as_user(street_admin)

    created = community_client.post(
        plans_url(brand), {"content": "第一版方案", "attachments": [pdf.pk, photo.pk]}, format="json"
    )
    assert created.status_code == 201, created.content
    plan = created.json()
    assert (plan["version"], plan["status"], plan["attachments"]) == (1, "draft", [pdf.pk, photo.pk])
    assert {f["id"] for f in plan["attachment_files"]} == {pdf.pk, photo.pk}
    assert plan["author"] == secretary.pk

    base = f"{plans_url(brand)}{plan['id']}/"
    assert_error(street_client.post(f"{base}approve/"), 409, "invalid_transition")
    assert_error(street_client.post(f"{base}return/", {"comments": "改"}, format="json"), 409, "invalid_transition")

    with django_capture_on_commit_callbacks(execute=True):
        submitted = community_client.post(f"{base}submit/")
    assert submitted.status_code == 200
    assert submitted.json()["status"] == "submitted"
    assert_error(community_client.post(f"{base}submit/"), 409, "invalid_transition")
    assert_error(community_client.patch(base, {"content": "改"}, format="json"), 409, "invalid_transition")
    assert_error(community_client.delete(base), 409, "invalid_transition")
    assert_error(
        community_client.post(plans_url(brand), {"content": "第二版"}, format="json"), 409, "invalid_transition"
    )

    assert_error(street_client.post(f"{base}return/", {}, format="json"), 400, "validation_error")
    with django_capture_on_commit_callbacks(execute=True):
        returned = street_client.post(f"{base}return/", {"comments": "请补充工作法"}, format="json")
    assert returned.status_code == 200
    assert (returned.json()["status"], returned.json()["review_comments"]) == ("returned", "请补充工作法")
    assert returned.json()["reviewed_by"] == street_admin.pk
    assert_error(street_client.post(f"{base}approve/"), 409, "invalid_transition")
    assert_error(community_client.post(f"{base}submit/"), 409, "invalid_transition")

    # A returned plan is revised as a new version.
    second = community_client.post(plans_url(brand), {"content": "第二版方案", "attachments": [pdf.pk]}, format="json")
    assert second.status_code == 201
    assert second.json()["version"] == 2
    second_base = f"{plans_url(brand)}{second.json()['id']}/"
    community_client.post(f"{second_base}submit/")
    with django_capture_on_commit_callbacks(execute=True):
        approved = street_client.post(f"{second_base}approve/", {"comments": "同意"}, format="json")
    assert approved.json()["status"] == "approved"
    assert_error(
        street_client.post(f"{second_base}return/", {"comments": "再改"}, format="json"), 409, "invalid_transition"
    )

    listing = community_client.get(plans_url(brand)).json()
    assert [(row["version"], row["status"]) for row in listing["results"]] == [(2, "approved"), (1, "returned")]
    assert [name for name, _d, _a in captured_events] == [
        "brand_plan.submitted",
        "brand_plan.returned",
        "brand_plan.approved",
    ]


def test_plans_are_not_public(api, as_user, brand, resident, other_staff, foreign_admin):
    plan = PlanFactory(brand=brand)
    assert_error(api.get(plans_url(brand)), 401, "not_authenticated")
    for user in (resident, other_staff, foreign_admin):
        assert_error(as_user(user).get(plans_url(brand)), 404, "not_found")
        assert_error(as_user(user).get(plan_url(plan)), 404, "not_found")


def test_a_published_brands_plans_stay_hidden_from_others(as_user, brand, other_staff):
    brand.status = "active"
    brand.save()
    PlanFactory(brand=brand)
    assert as_user(other_staff).get(f"/api/v1/brands/{brand.pk}/").status_code == 200
    assert_error(as_user(other_staff).get(plans_url(brand)), 404, "not_found")


def test_another_communitys_staff_cannot_write_or_review(as_user, brand, other_staff, foreign_admin):
    draft = PlanFactory(brand=brand)
    for user in (other_staff, foreign_admin):
        client = as_user(user)
        assert_error(client.post(plans_url(brand), {"content": "越界"}, format="json"), 404, "not_found")
        assert_error(client.patch(plan_url(draft), {"content": "越界"}, format="json"), 404, "not_found")
        assert_error(client.post(plan_url(draft, "submit")), 404, "not_found")
    draft.refresh_from_db()
    assert (draft.content, draft.status) == ("品牌设计及方案", "draft")
    submitted = PlanFactory(brand=BrandFactory(community=brand.community), submitted=True)
    for user in (other_staff, foreign_admin):
        assert_error(as_user(user).post(plan_url(submitted, "approve")), 404, "not_found")
        assert_error(
            as_user(user).post(plan_url(submitted, "return"), {"comments": "x"}, format="json"), 404, "not_found"
        )
    submitted.refresh_from_db()
    assert submitted.status == "submitted"


def test_community_staff_cannot_review_their_own_plan(as_user, brand, secretary):
    plan = PlanFactory(brand=brand, submitted=True)
    assert_error(as_user(secretary).post(plan_url(plan, "approve")), 403, "permission_denied")
    assert_error(
        as_user(secretary).post(plan_url(plan, "return"), {"comments": "x"}, format="json"), 403, "permission_denied"
    )
    plan.refresh_from_db()
    assert plan.status == "submitted"


def test_street_admins_read_and_review_but_do_not_write_plans(as_user, brand, street_admin):
    draft = PlanFactory(brand=brand)
    client = as_user(street_admin)
    assert client.get(plans_url(brand)).json()["count"] == 1
    assert_error(client.post(plans_url(brand), {"content": "代写"}, format="json"), 403, "permission_denied")
    assert_error(client.patch(plan_url(draft), {"content": "代改"}, format="json"), 403, "permission_denied")
    assert_error(client.post(plan_url(draft, "submit")), 403, "permission_denied")
    assert BrandPlan.objects.count() == 1


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({}, "content"),
        ({"content": ""}, "content"),
        ({"content": "x", "attachments": "1"}, "attachments"),
        ({"content": "x", "attachments": [0]}, "attachments.0"),
        ({"content": "x", "attachments": [999999]}, "attachments"),
    ],
)
def test_bad_plan_input_writes_nothing(as_user, brand, secretary, payload, field):
    error = assert_error(as_user(secretary).post(plans_url(brand), payload, format="json"), 400, "validation_error")
    assert field in error["fields"]
    assert not BrandPlan.objects.exists()


def test_attachments_must_be_the_callers_own_uploads(as_user, brand, secretary, staff):
    colleagues = document_upload(staff)
    error = assert_error(
        as_user(secretary).post(plans_url(brand), {"content": "x", "attachments": [colleagues.pk]}, format="json"),
        400,
        "validation_error",
    )
    assert "attachments" in error["fields"]
    assert not BrandPlan.objects.exists()


def test_a_draft_keeps_attachments_a_colleague_added(as_user, brand, secretary, staff):
    plan = PlanFactory(brand=brand)
    colleagues = document_upload(staff)
    plan.attachments.add(colleagues, through_defaults={"position": 0})
    mine = image_upload(secretary)
    response = as_user(secretary).patch(
        plan_url(plan), {"content": "补充", "attachments": [colleagues.pk, mine.pk]}, format="json"
    )
    assert response.status_code == 200, response.content
    assert response.json()["attachments"] == [colleagues.pk, mine.pk]
    assert [u.pk for u in plan.ordered_attachments] == [colleagues.pk, mine.pk]


def test_delete_a_draft(as_user, brand, secretary):
    plan = PlanFactory(brand=brand)
    assert as_user(secretary).delete(plan_url(plan)).status_code == 204
    assert not BrandPlan.objects.exists()


def test_due_date_and_overdue_in_shanghai_days(as_user, brand, street, community, secretary, clock):
    clock(dt.datetime(2026, 6, 20, 2, 0, tzinfo=dt.UTC))
    plan_id = as_user(secretary).post(plans_url(brand), {"content": "方案"}, format="json").json()["id"]
    deadline_for(street, [community], dt.date(2026, 7, 1))
    url = f"{plans_url(brand)}{plan_id}/"

    clock(dt.datetime(2026, 7, 1, 15, 59, tzinfo=dt.UTC))  # 23:59 on 07-01 in Shanghai
    body = as_user(secretary).get(url).json()
    assert (body["due_date"], body["is_overdue"]) == ("2026-07-01", False)

    clock(dt.datetime(2026, 7, 1, 16, 30, tzinfo=dt.UTC))  # already 07-02 in Shanghai
    body = as_user(secretary).get(url).json()
    assert (body["due_date"], body["is_overdue"]) == ("2026-07-01", True)


def test_a_plan_without_a_deadline_has_no_due_date(as_user, brand, secretary):
    plan = PlanFactory(brand=brand)
    body = as_user(secretary).get(plan_url(plan)).json()
    assert (body["due_date"], body["is_overdue"]) == (None, False)


def test_unknown_brand_is_404(as_user, secretary):
    assert_error(as_user(secretary).get("/api/v1/brands/999999/plans/"), 404, "not_found")


def test_plan_list_queries_do_not_grow_with_rows(as_user, brand, street, community, secretary):
    deadline_for(street, [community], dt.date(2026, 7, 1))
    author = factories.UserFactory()

    def count_queries() -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert as_user(secretary).get(plans_url(brand)).status_code == 200
        return len(ctx)

    def add_plan(version: int) -> None:
        plan = PlanFactory(brand=brand, version=version, approved=True, author=author, reviewed_by=author)
        plan.attachments.add(document_upload(author), image_upload(author), through_defaults={"position": 0})

    add_plan(1)
    few = count_queries()
    for version in range(2, 8):
        add_plan(version)
    assert count_queries() == few
