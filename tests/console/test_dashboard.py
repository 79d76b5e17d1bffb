"""The dashboard: the first page after signing in, the figures of the user's scope from the reports app."""

from __future__ import annotations

import html
import json
import re

import pytest
from django.urls import reverse

from backend.accounts.models import Role
from tests import factories
from tests.activities.factories import ActivityFactory
from tests.appeals.factories import AppealFactory
from tests.members.factories import registered_member

pytestmark = pytest.mark.django_db


def charts(page: str) -> list[dict]:
    found = re.findall(r'<canvas class="chart" data-type="(\w+)" data-value="([^"]+)"', page)
    return [{"type": kind, **json.loads(html.unescape(value))} for kind, value in found]


def test_a_secretary_sees_her_community_and_its_charts(client, community, other_community):
    secretary = factories.staff_of(community, Role.COMMUNITY_SECRETARY)
    registered_member(community, real_name="张三")
    ActivityFactory(community=community, title="七一主题党日")
    AppealFactory(community=other_community, content="别处的诉求")
    client.force_login(secretary)
    response = client.get(reverse("admin:index"))
    assert response.status_code == 200
    page = response.content.decode()
    assert community.name in page and other_community.name not in page
    drawn = charts(page)
    assert len(drawn) == 6
    assert {chart["type"] for chart in drawn} >= {"bar", "line", "doughnut"}
    # The numbers are beside the charts too.
    for heading in (
        "五个全覆盖",
        "双报到率",
        "活动与出勤",
        "志愿服务时长",
        "品牌方案",
        "接诉即办",
        "响应率",
        "解决率",
        "满意率",
    ):
        assert heading in page
    assert len(drawn[0]["labels"]) == 7


def test_a_street_admin_sees_every_community_of_his_street_and_may_narrow(client, street, community, other_community):
    admin = factories.admin_of(street)
    far = factories.CommunityFactory()
    client.force_login(admin)
    page = client.get(reverse("admin:index")).content.decode()
    registration = charts(page)[1]
    assert set(registration["labels"]) == {community.name, other_community.name}
    assert far.name not in page
    narrowed = client.get(reverse("admin:index"), {"community": community.pk, "period": "2026H1"}).content.decode()
    assert charts(narrowed)[1]["labels"] == [community.name]
    # A community outside his street cannot be asked for: the street's figures answer instead.
    other = client.get(reverse("admin:index"), {"community": far.pk}).content.decode()
    assert far.name not in other


def test_someone_without_a_staff_scope_gets_no_figures(client, community):
    worker = factories.UserFactory()
    factories.grant(worker, Role.GRID_WORKER, factories.GridFactory(community=community))
    client.force_login(worker)
    page = client.get(reverse("admin:index")).content.decode()
    assert 'class="chart"' not in page


def test_overdue_appeals_show_since_when_in_local_time(client, community):
    from datetime import datetime, timedelta
    from zoneinfo import ZoneInfo

    secretary = factories.staff_of(community, Role.COMMUNITY_SECRETARY)
    due = datetime(2026, 1, 5, 6, 30, tzinfo=ZoneInfo("UTC"))  # 14:30 in Beijing
    appeal = AppealFactory(
        community=community, submitted_at=due - timedelta(hours=24), respond_due_at=due, resolve_due_at=due
    )
    client.force_login(secretary)
    page = client.get(reverse("admin:index"), {"period": "2026"}).content.decode()
    table = page[page.index('id="overdue-appeals"') :]
    assert f"#{appeal.pk}" in table
    assert "2026-01-05 14:30" in table
