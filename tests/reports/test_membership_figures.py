"""党员双报到率, 单位双报到率 and the count of registered members move with the secretary's work:
approving, rejecting and ending registrations, in the API (coverage, dashboard) and the console."""

from __future__ import annotations

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from backend.members import services
from backend.reports import selectors
from tests import factories
from tests.members.factories import file_registration, registered_member

pytestmark = pytest.mark.django_db

PERIOD = "2026"


def apply(community, organization, *, home=None):
    return file_registration(factories.UserFactory(community=home), community, organization)


def figures(as_user, staff, community) -> dict:
    dashboard = as_user(staff).get("/api/v1/dashboard/", {"community": community.pk, "period": PERIOD})
    assert dashboard.status_code == 200, dashboard.json()
    coverage = as_user(staff).get(f"/api/v1/communities/{community.pk}/coverage/")
    assert coverage.status_code == 200
    assert coverage.json()["member_registration"] == dashboard.json()["coverage"]["member_registration"]
    return dashboard.json()["coverage"]


def members(coverage) -> tuple:
    ratio = coverage["member_registration"]
    return ratio["numerator"], ratio["denominator"], ratio["rate"], coverage["registered_members"]


def test_the_secretarys_decisions_move_the_member_figures(community, as_user):
    secretary = factories.staff_of(community)
    branch = factories.OrganizationFactory(community=community)

    empty = figures(as_user, secretary, community)
    assert members(empty) == (0, 0, None, 0)
    assert empty["member_registration"]["unknown"]["code"] == "no_known_members"
    assert empty["unit_registration"]["unknown"]["code"] == "no_units_filed"

    first, second, third = (apply(community, branch) for _ in range(3))
    # Applicants are known to live here (the denominator) and count in no numerator.
    assert members(figures(as_user, secretary, community)) == (0, 3, 0.0, 0)
    assert figures(as_user, secretary, community)["member_registration"]["unknown"] is None

    services.approve_registration(registration=first, by=secretary)
    assert members(figures(as_user, secretary, community)) == (1, 3, 0.3333, 1)

    services.reject_registration(registration=second, by=secretary, reason="不是本社区居民")
    assert members(figures(as_user, secretary, community)) == (1, 2, 0.5, 1)

    services.approve_registration(registration=third, by=secretary)
    assert members(figures(as_user, secretary, community)) == (2, 2, 1.0, 2)

    services.revoke_registration(registration=third, by=secretary, reason="已搬离")
    assert members(figures(as_user, secretary, community)) == (1, 1, 1.0, 1)

    services.withdraw_registration(registration=first, by=first.member.user)
    ended = figures(as_user, secretary, community)
    assert members(ended) == (0, 0, None, 0)
    assert ended["member_registration"]["unknown"]["code"] == "no_known_members"


def test_a_member_registered_elsewhere_counts_where_they_live_too(community, other_community):
    branch = factories.OrganizationFactory(community=other_community)
    living_here = apply(other_community, branch, home=community)
    services.approve_registration(registration=living_here, by=factories.staff_of(other_community))
    coverage = selectors.coverage_by_community([community.pk, other_community.pk])
    assert coverage[community.pk].member_registration.denominator == 1
    assert coverage[community.pk].member_registration.numerator == 0
    assert coverage[other_community.pk].member_registration.numerator == 1
    # The street counts each member once.
    street = selectors.street_coverage(community.street)
    assert (street.total.member_registration.numerator, street.total.member_registration.denominator) == (1, 1)
    assert street.total.registered_members == 1


def test_unit_figures_move_with_approval(community, as_user):
    secretary = factories.staff_of(community)
    unit = factories.UnitOrganizationFactory()
    filed = services.register_unit(
        by=factories.UserFactory(),
        organization=unit,
        community=community,
        contact_name="联络员",
        contact_phone="13600000000",
    )
    units = figures(as_user, secretary, community)["unit_registration"]
    assert (units["numerator"], units["denominator"], units["unknown"]) == (0, 1, None)
    services.approve_unit_registration(registration=filed, by=secretary)
    units = figures(as_user, secretary, community)["unit_registration"]
    assert (units["numerator"], units["denominator"], units["rate"]) == (1, 1, 1.0)


def kpi(page: str) -> int:
    found = re.search(r'已报到党员</div><div class="value">(\d+)</div>', page)
    assert found, "the count of registered members is on the page"
    return int(found.group(1))


def test_approving_moves_the_console_dashboard(client, community):
    secretary = factories.staff_of(community)
    branch = factories.OrganizationFactory(community=community)
    client.force_login(secretary)

    page = client.get(reverse("admin:index")).content.decode()
    assert kpi(page) == 0
    assert "尚无已知居住于此的党员" in page and "尚无单位申请共建报到" in page

    registration = apply(community, branch)
    page = client.get(reverse("admin:index")).content.decode()
    assert kpi(page) == 0
    assert f'<td>{community.name}</td><td class="num">0/1 · 0.0%' in page

    services.approve_registration(registration=registration, by=secretary)
    page = client.get(reverse("admin:index")).content.decode()
    assert kpi(page) == 1
    assert f'<td>{community.name}</td><td class="num">1/1 · 100.0%' in page
    assert "尚无已知居住于此的党员" not in page


def test_the_figures_are_counted_in_a_fixed_number_of_queries(community, other_community):
    def count() -> int:
        with CaptureQueriesContext(connection) as captured:
            selectors.member_registration_sets([community.pk, other_community.pk])
        return len(captured)

    few = count()
    for _ in range(3):
        registered_member(community)
        registered_member(other_community)
    assert count() == few == 2
