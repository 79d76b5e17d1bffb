"""Every figure in a fixed number of queries: the counts do not grow with communities or members."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from backend.accounts.scoping import get_scope
from backend.core.periods import parse_period
from backend.reports import selectors
from tests import factories
from tests.appeals.factories import AppealFactory
from tests.brands.factories import BrandFactory, HonorFactory, PlanFactory, deadline_for
from tests.red_property.factories import GovernanceFactory, OwnersCommitteeFactory, PropertyCompanyFactory

from .factories import (
    activity,
    at,
    checked_in,
    completed_demand,
    hold_post,
    member,
    points,
    unit_registration,
    volunteer_hours,
)

pytestmark = pytest.mark.django_db


def grow(town, communities: int, members_each: int) -> None:
    """More of everything: communities in the street, each with estates, U1 members, activities, plans…"""
    for n in range(communities):
        community = factories.CommunityFactory(street=town.street, name=f"新社区{n}")
        company = PropertyCompanyFactory(street=town.street)
        for households in (50, 200):
            estate = factories.EstateFactory(community=community, households=households)
            GovernanceFactory(
                estate=estate, property_company=company, is_red_property=True, red_property_since=dt.date(2024, 1, 1)
            )
            OwnersCommitteeFactory(estate=estate, term_start=dt.date(2024, 1, 1), term_end=dt.date(2099, 1, 1))
        unit_registration(town.u1, community, approved_at=at(2025, 1, 2))
        brand = BrandFactory(community=community, active=True)
        PlanFactory(brand=brand, version=1, year=2025)
        deadline_for(town.street, [community], dt.date(2025, 9, 30))
        HonorFactory(brand=brand, organization=None, street=town.street)
        event = activity(community, starts_at=at(2025, 2, 15), brand=brand, organiser=town.staff_a)
        AppealFactory(community=community, submitted_at=at(2025, 2, 1))
        for _ in range(members_each):
            someone = member(town.u1, home=community, registered_with=community, approved_at=at(2025, 1, 20))
            hold_post(someone, community, name=f"岗位{someone.pk}", claimed_at=at(2025, 1, 21))
            checked_in(event, someone.user, by=town.staff_a)
            volunteer_hours(
                someone.user, community, started_at=at(2025, 2, 16), hours=2, activity_=event, approved_by=town.staff_a
            )
            points(someone.user, 4, created_at=at(2025, 2, 16))
            completed_demand(community, claimed_by=someone.user, done_at=at(2025, 3, 3))


def count(call) -> int:
    with CaptureQueriesContext(connection) as captured:
        call()
    return len(captured)


def calls(town):
    get_scope(town.admin)  # the scope is read once per request, before any figure
    ids = lambda: list(town.street.communities.values_list("pk", flat=True))  # noqa: E731
    return {
        "street coverage": lambda: selectors.street_coverage(town.street),
        "feedback report": lambda: selectors.feedback_report(
            organization=town.u1, period=parse_period("2025Q1"), label="2025Q1"
        ).as_data(),
        "brand board": lambda: selectors.brand_board(community_ids=ids(), year=2025),
        "dashboard": lambda: selectors.dashboard(user=town.admin, period=parse_period("2025"), street=town.street),
        "brand figures": lambda: selectors.brand_figures(town.brand_a),
    }


def test_selectors_do_not_grow(town):
    before = {name: count(call) for name, call in calls(town).items()}
    grow(town, communities=3, members_each=3)
    after = {name: count(call) for name, call in calls(town).items()}
    assert after == before
    # And they did see the new rows.
    data = selectors.feedback_report(organization=town.u1, period=parse_period("2025Q1"), label="2025Q1").as_data()
    assert data["summary"]["members"] == 4 + 9


def test_endpoints_do_not_grow(town, as_user):
    requests = [
        (town.liaison, "/api/v1/members/reports/", {"organization": town.u1.pk, "period": "2025Q1"}),
        (town.admin, "/api/v1/members/reports/export/", {"organization": town.u1.pk, "period": "2025Q1"}),
        (town.admin, f"/api/v1/streets/{town.street.pk}/coverage/", {}),
        (town.admin, f"/api/v1/streets/{town.street.pk}/brand-board/", {"year": 2025}),
        (town.admin, "/api/v1/dashboard/", {"street": town.street.pk, "period": "2025"}),
    ]

    def measure() -> list[int]:
        counts = []
        for user, path, params in requests:
            client = as_user(user)
            with CaptureQueriesContext(connection) as captured:
                assert client.get(path, params).status_code == 200
            counts.append(len(captured))
        return counts

    before = measure()
    grow(town, communities=2, members_each=4)
    assert measure() == before
