"""What the console shows reads as words: codes have labels, flags read as problems, a new plan
has its version."""

from __future__ import annotations

import pytest
from django.urls import reverse

from backend.core.models import ContentCheck
from backend.members.admin import points_source_label
from backend.members.models import PointsEntry
from tests.appeals.factories import AppealFactory
from tests.brands.factories import BrandFactory
from tests.members.factories import registered_member

from .test_actions import _record

pytestmark = pytest.mark.django_db


def test_a_flagged_record_reads_as_a_problem_and_a_clean_one_reads_as_nothing(client, places):
    _record(places, overlap_flag=True)
    _record(places)
    client.force_login(places.secretary)
    page = client.get(reverse("admin:volunteers_servicerecord_changelist")).content.decode()
    assert page.count("⚠ 时段重叠") == 1
    assert "超过单日上限" not in page


def test_an_overdue_appeal_reads_as_overdue(client, places):
    appeal = AppealFactory(community=places.home)
    appeal.respond_overdue = True
    appeal.save(update_fields=["respond_overdue"])
    client.force_login(places.secretary)
    page = client.get(reverse("admin:appeals_appeal_changelist")).content.decode()
    assert "⚠ 响应超时" in page and "⚠ 办结超时" not in page


@pytest.mark.parametrize(
    ("source", "label"),
    [
        ("activity:12", "活动 #12"),
        ("demand:3", "群众需求 #3"),
        ("record:5:11", "志愿服务记录 #5 第11小时"),
        ("correction:7", "人工更正"),
        ("something:else", "something:else"),
        ("record:5", "record:5"),
    ],
)
def test_points_sources_have_labels(source, label):
    assert points_source_label(source) == label


def test_the_points_ledger_shows_rule_names_not_codes(client, places):
    from backend.members import services

    member = registered_member(places.home)
    services.award_points(
        user=member.user, rule_code="demand_completed", source="demand:3", year=2026, community=places.home
    )
    assert PointsEntry.objects.filter(rule_code="demand_completed").exists()
    client.force_login(places.secretary)
    page = client.get(reverse("admin:members_pointsentry_changelist")).content.decode()
    assert "完成群众需求" in page and "群众需求 #3" in page
    assert "demand_completed" not in page and "demand:3" not in page


def test_content_check_reasons_have_labels(client, places):
    ContentCheck.objects.create(
        target="members.demand",
        object_id=1,
        community_id=places.home.pk,
        field="content",
        kind=ContentCheck.Kind.TEXT,
        status=ContentCheck.Status.REVIEW,
        reason="no_openid",
    )
    client.force_login(places.secretary)
    page = client.get(reverse("admin:core_contentcheck_changelist")).content.decode()
    assert "作者未绑定微信" in page and "no_openid" not in page


def test_a_new_plan_is_named_with_its_version(client, places):
    brand = BrandFactory(community=places.home, active=True)
    client.force_login(places.secretary)
    response = client.post(
        reverse("admin:brands_brandplan_add"), {"brand": brand.pk, "content": "年度方案"}, follow=True
    )
    page = response.content.decode()
    assert "第1版" in page and "第None版" not in page


def test_another_communitys_check_in_screen_is_the_consoles_404_even_with_debug(client, places, settings):
    from tests.activities.factories import ActivityFactory

    settings.DEBUG = True
    activity = ActivityFactory(community=places.home)
    client.force_login(places.neighbour_secretary)
    response = client.get(reverse("console-checkin-screen", args=[activity.pk]))
    assert response.status_code == 404
    page = response.content.decode()
    assert 'id="not-found"' in page and "未找到该页面或记录" in page
    assert "technical_404" not in page and "Using the URLconf" not in page


def test_the_activity_form_offers_only_the_users_own_brands(client, places):
    own = BrandFactory(community=places.home, active=True, name="东湖红管家")
    BrandFactory(community=places.neighbour, active=True, name="邻居品牌")
    client.force_login(places.secretary)
    form = client.get(reverse("admin:activities_activity_add")).context["adminform"].form
    assert list(form.fields["brand"].queryset) == [own]
