"""The brands console: scoped lists, writes through the services, the street's review actions."""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.urls import reverse

from backend.brands.models import Brand, BrandDeadline, BrandPlan, Honor
from tests import factories

from .factories import BrandFactory, PlanFactory, deadline_for

pytestmark = pytest.mark.django_db


def names(response) -> set[str]:
    return {str(obj) for obj in response.context["cl"].result_list}


def test_lists_are_scoped(client, brand, other_community, secretary, street_admin):
    BrandFactory(community=other_community, name="东湖先锋", active=True)
    client.force_login(secretary)
    response = client.get(reverse("admin:brands_brand_changelist"))
    assert response.status_code == 200
    assert names(response) == {"岳阳楼下党旗红"}
    client.force_login(street_admin)
    assert names(client.get(reverse("admin:brands_brand_changelist"))) == {"岳阳楼下党旗红", "东湖先锋"}


def test_secretary_creates_a_brand_through_the_service(client, community, secretary):
    client.force_login(secretary)
    response = client.post(
        reverse("admin:brands_brand_add"),
        {"community": community.pk, "name": "岳阳楼下党旗红", "method_steps_text": "提议\n\n商议\n"},
    )
    assert response.status_code == 302, response.context["adminform"].form.errors if response.context else ""
    brand = Brand.objects.get()
    assert (brand.created_by, brand.method_steps, brand.status) == (secretary, ["提议", "商议"], "draft")


def test_secretary_cannot_pick_another_community(client, other_community, secretary):
    client.force_login(secretary)
    response = client.post(reverse("admin:brands_brand_add"), {"community": other_community.pk, "name": "越界"})
    assert response.status_code == 200
    assert "community" in response.context["adminform"].form.errors
    assert not Brand.objects.exists()


def test_publish_action(client, brand, secretary):
    client.force_login(secretary)
    response = client.post(
        reverse("admin:brands_brand_changelist"), {"action": "publish", ACTION_CHECKBOX_NAME: [brand.pk]}
    )
    assert response.status_code == 302
    brand.refresh_from_db()
    assert brand.status == "active"


def test_secretary_writes_and_submits_a_plan(client, brand, secretary):
    client.force_login(secretary)
    response = client.post(reverse("admin:brands_brandplan_add"), {"brand": brand.pk, "content": "第一版"})
    assert response.status_code == 302
    plan = BrandPlan.objects.get()
    assert (plan.version, plan.author) == (1, secretary)
    # A second draft is refused beside the field, nothing saved.
    response = client.post(reverse("admin:brands_brandplan_add"), {"brand": brand.pk, "content": "又一版"})
    assert response.status_code == 200
    assert response.context["adminform"].form.errors
    assert BrandPlan.objects.count() == 1
    client.post(reverse("admin:brands_brandplan_changelist"), {"action": "submit", ACTION_CHECKBOX_NAME: [plan.pk]})
    plan.refresh_from_db()
    assert plan.status == "submitted"


def test_review_actions_are_the_streets(client, brand, secretary, street_admin):
    plan = PlanFactory(brand=brand, submitted=True)
    client.force_login(secretary)
    page = client.get(reverse("admin:brands_brandplan_changelist"))
    assert "approve" not in dict(page.context["action_form"].fields["action"].choices)
    client.post(reverse("admin:brands_brandplan_changelist"), {"action": "approve", ACTION_CHECKBOX_NAME: [plan.pk]})
    plan.refresh_from_db()
    assert plan.status == "submitted"

    client.force_login(street_admin)
    url = reverse("admin:brands_brandplan_changelist")
    form_page = client.post(url, {"action": "return_plans", ACTION_CHECKBOX_NAME: [plan.pk]})
    assert form_page.status_code == 200
    assert "修改意见" in form_page.content.decode()
    response = client.post(
        url, {"action": "return_plans", ACTION_CHECKBOX_NAME: [plan.pk], "apply": "1", "comments": "请补充工作法"}
    )
    assert response.status_code == 302
    plan.refresh_from_db()
    assert (plan.status, plan.review_comments, plan.reviewed_by) == ("returned", "请补充工作法", street_admin)

    second = PlanFactory(brand=brand, version=plan.version + 1, submitted=True)
    client.post(url, {"action": "approve", ACTION_CHECKBOX_NAME: [second.pk]})
    second.refresh_from_db()
    assert second.status == "approved"


def test_deadlines_in_the_console(client, street, community, other_community, secretary, street_admin):
    client.force_login(secretary)
    assert client.get(reverse("admin:brands_branddeadline_changelist")).status_code == 403
    client.force_login(street_admin)
    add = reverse("admin:brands_branddeadline_add")
    response = client.post(
        add, {"street": street.pk, "title": "七一前", "due_date": "2026-07-01", "communities": [community.pk]}
    )
    assert response.status_code == 302
    deadline = BrandDeadline.objects.get()
    assert list(deadline.communities.all()) == [community]
    # The same community again this year: refused beside the field.
    response = client.post(
        add,
        {"street": street.pk, "due_date": "2026-10-31", "communities": [community.pk, other_community.pk]},
    )
    assert response.status_code == 200
    assert "communities" in response.context["adminform"].form.errors
    assert BrandDeadline.objects.count() == 1
    change = reverse("admin:brands_branddeadline_change", args=[deadline.pk])
    response = client.post(
        change, {"title": "七一前", "due_date": "2026-06-30", "communities": [community.pk, other_community.pk]}
    )
    assert response.status_code == 302
    deadline.refresh_from_db()
    assert deadline.due_date == dt.date(2026, 6, 30)
    assert deadline.communities.count() == 2


def test_honors_in_the_console(client, community, secretary, street_admin):
    organization = factories.OrganizationFactory(community=community)
    client.force_login(street_admin)
    response = client.post(
        reverse("admin:brands_honor_add"),
        {
            "organization": organization.pk,
            "level": "district",
            "title": "先进基层党组织",
            "issuer": "中共岳阳楼区委",
            "awarded_on": "2026-07-01",
        },
    )
    assert response.status_code == 302
    assert Honor.objects.get().street_id == community.street_id
    client.force_login(secretary)
    assert client.get(reverse("admin:brands_honor_add")).status_code == 403


def test_reminder_log_is_readable(client, street, community, secretary):
    deadline_for(street, [community], dt.date(2026, 7, 1))
    client.force_login(secretary)
    assert client.get(reverse("admin:brands_planreminder_changelist")).status_code == 200


def test_records_are_read_only_once_final(client, community, secretary):
    retired = BrandFactory(community=community, status=Brand.Status.RETIRED, name="旧品牌")
    submitted = PlanFactory(brand=BrandFactory(community=community), submitted=True)
    client.force_login(secretary)
    for name, obj in (("brand", retired), ("brandplan", submitted)):
        url = reverse(f"admin:brands_{name}_change", args=[obj.pk])
        assert client.get(url).status_code == 200
        assert client.post(url, {"name": "改", "content": "改"}).status_code == 403
    retired.refresh_from_db()
    submitted.refresh_from_db()
    assert (retired.name, submitted.content) == ("旧品牌", "品牌设计及方案")
