"""The 工作台's 待办: what waits for her, counted through the same scoped lists its links open."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from backend.members.models import MemberRegistration
from tests.appeals.factories import AppealFactory
from tests.brands.factories import BrandFactory, PlanFactory
from tests.members.factories import RegistrationFactory

from .test_actions import _leave, _pending_unit, _record

pytestmark = pytest.mark.django_db


def todo_counts(page: str) -> dict[str, int]:
    return {
        key: int(count)
        for key, count in re.findall(r'data-todo="(\w+)">\s*<a href="[^"]*"><span class="count">(\d+)</span>', page)
    }


def todo_links(page: str) -> dict[str, str]:
    return dict(re.findall(r'data-todo="(\w+)">\s*<a href="([^"]*)"', page))


def _world(places, *, many: int = 1, plan: bool = True):
    for _ in range(many):
        RegistrationFactory(community=places.home)
        RegistrationFactory(community=places.neighbour)
        _pending_unit(places)
        _record(places)
        _leave(places)
    # One appeal due within the day, one with weeks to go, one of another community.
    soon = AppealFactory(community=places.home)
    soon.respond_due_at = timezone.now() + timedelta(hours=2)
    soon.save(update_fields=["respond_due_at"])
    later = AppealFactory(community=places.home)
    later.respond_due_at = later.resolve_due_at = timezone.now() + timedelta(days=20)
    later.save(update_fields=["respond_due_at", "resolve_due_at"])
    AppealFactory(
        community=places.neighbour,
        submitted_at=timezone.now() - timedelta(days=2),
        respond_due_at=timezone.now() - timedelta(hours=1),
    )
    if plan:
        PlanFactory(brand=BrandFactory(community=places.home, active=True), submitted=True)


def test_the_secretary_opens_on_her_own_todos(client, places):
    _world(places)
    client.force_login(places.secretary)
    page = client.get(reverse("admin:index")).content.decode()
    counts = todo_counts(page)
    assert counts["member_registrations"] == 1  # not the neighbour's
    assert counts["unit_registrations"] == 1
    assert counts["service_records"] == 1
    assert counts["leave"] == 1
    assert counts["appeals_due"] == 1
    assert counts["plans_to_submit"] == 0  # hers is with the street
    assert "plans_to_review" not in counts
    assert page.index('id="todos"') < page.index('id="dashboard"'), "her work comes before her figures"


def test_each_todo_links_to_the_list_it_counts(client, places):
    _world(places)
    client.force_login(places.secretary)
    links = todo_links(client.get(reverse("admin:index")).content.decode())
    listed = client.get(links["member_registrations"])
    assert listed.status_code == 200
    assert listed.context["cl"].result_count == 1
    assert all(row.status == MemberRegistration.Status.PENDING for row in listed.context["cl"].result_list)


def test_the_street_admin_sees_the_street_and_plans_to_review(client, places):
    _world(places)
    client.force_login(places.street_admin)
    counts = todo_counts(client.get(reverse("admin:index")).content.decode())
    assert counts["member_registrations"] == 2  # both communities of his street
    assert counts["plans_to_review"] == 1
    assert counts["appeals_due"] == 2


def test_an_outsider_sees_none_of_it(client, places):
    _world(places)
    client.force_login(places.other_street_admin)
    counts = todo_counts(client.get(reverse("admin:index")).content.decode())
    assert counts["member_registrations"] == 0
    assert counts["plans_to_review"] == 0


def test_the_todo_queries_do_not_grow_with_rows(client, places):
    from backend.console.workbench import todos

    _world(places)
    request = client.get(reverse("admin:index")).wsgi_request
    request.user = places.secretary
    todos(request, reviewer=False)  # the user's roles are read once per request
    with CaptureQueriesContext(connection) as few:
        todos(request, reviewer=False)
    _world(places, many=5, plan=False)
    with CaptureQueriesContext(connection) as more:
        todos(request, reviewer=False)
    assert len(more) == len(few)
