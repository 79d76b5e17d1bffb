"""街道对比: a street admin compares every community of his street, coverage and the brand board
side by side, and exports each; others cannot open it."""

from __future__ import annotations

import re
from io import BytesIO

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from openpyxl import load_workbook

from tests import factories
from tests.brands.factories import BrandFactory, PlanFactory

pytestmark = pytest.mark.django_db


def test_the_street_admin_sees_every_community_side_by_side(client, places):
    BrandFactory(community=places.home, active=True, name="东湖红管家")
    client.force_login(places.street_admin)
    response = client.get(reverse("console-street"))
    assert response.status_code == 200
    page = response.content.decode()
    coverage = page[page.index('id="coverage-compare"') : page.index('id="board-compare"')]
    board = page[page.index('id="board-compare"') :]
    for section in (coverage, board):
        assert re.findall(r'data-community="([^"]+)"', section) == [places.home.name, places.neighbour.name]
    assert "全街道" in coverage and "党员双报到" in coverage
    assert "东湖红管家" in board and "未创建" in board


def test_the_exports_are_the_reports_workbooks(client, places):
    PlanFactory(brand=BrandFactory(community=places.home, active=True), submitted=True)
    client.force_login(places.street_admin)
    coverage = client.get(reverse("console-street"), {"export": "coverage"})
    assert coverage["Content-Type"].startswith("application/vnd.openxmlformats")
    names = [row[0] for row in load_workbook(BytesIO(coverage.content)).active.iter_rows(values_only=True)]
    assert places.home.name in names and places.neighbour.name in names and "合计" in names
    board = client.get(reverse("console-street"), {"export": "board"})
    names = [row[0] for row in load_workbook(BytesIO(board.content)).active.iter_rows(values_only=True)]
    assert places.home.name in names and places.neighbour.name in names


def test_a_secretary_and_another_street_cannot_compare_this_street(client, places):
    client.force_login(places.secretary)
    assert client.get(reverse("console-street")).status_code == 403
    client.force_login(places.other_street_admin)
    page = client.get(reverse("console-street"), {"street": places.street.pk}).content.decode()
    assert places.home.name not in page  # his own street is shown instead


def test_the_sidebar_offers_it_to_street_admins_only(client, places):
    client.force_login(places.street_admin)
    assert reverse("console-street") in client.get(reverse("admin:index")).content.decode()
    client.force_login(places.secretary)
    assert reverse("console-street") not in client.get(reverse("admin:index")).content.decode()


def test_the_page_queries_do_not_grow_with_communities(client, places):
    BrandFactory(community=places.home, active=True)  # brand figures are read once there are brands
    client.force_login(places.street_admin)
    client.get(reverse("console-street"))
    with CaptureQueriesContext(connection) as few:
        client.get(reverse("console-street"))
    for _ in range(4):
        community = factories.CommunityFactory(street=places.street)
        BrandFactory(community=community, active=True)
    with CaptureQueriesContext(connection) as more:
        client.get(reverse("console-street"))
    assert len(more) == len(few)
