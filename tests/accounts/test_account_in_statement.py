"""The reads that leave the account to their own statement (`AccountInStatement`,
`volunteers.views.OwnReadMixin`: both `RefusesAsAuthentication`) refuse a gone or inactive account
as authentication refuses it: 401, before a throttle's 429, and rendered for an anonymous caller
(the browsable page read the deleted account and failed)."""

from __future__ import annotations

import pytest

from backend.accounts.models import User
from backend.core import throttling
from tests import factories
from tests.activities.factories import ActivityFactory

pytestmark = pytest.mark.django_db


def _paths(community) -> list[str]:
    return [
        "/api/v1/auth/users/me/",
        "/api/v1/members/me/",
        "/api/v1/members/me/?period=bad",
        f"/api/v1/activities/?community={community.pk}",
        f"/api/v1/activities/?community={community.pk}&page=99",
        "/api/v1/notices/",
        "/api/v1/notices/unread-count/",
        "/api/v1/volunteers/me/",
        f"/api/v1/volunteers/leaderboard/?community={community.pk}",
    ]


@pytest.fixture
def account(community):
    ActivityFactory(community=community)
    # No volunteer or party member: their consents would hold the account from being deleted.
    return factories.UserFactory(community=community)


def test_the_paths_answer_the_account_while_it_may_act(account, community, as_user):
    client = as_user(account)
    for path in _paths(community):
        expected = 404 if "page=99" in path or "volunteers/me" in path else 400 if "period=bad" in path else 200
        assert client.get(path).status_code == expected, path


@pytest.mark.parametrize("accept", ["application/json", "text/html"])
@pytest.mark.parametrize("state", ["inactive", "deleted"])
def test_a_gone_or_inactive_account_is_refused_whatever_is_rendered(account, community, as_user, state, accept):
    client = as_user(account)
    if state == "inactive":
        User.objects.filter(pk=account.pk).update(is_active=False)
    else:
        User.objects.filter(pk=account.pk).delete()
    usual = client.get("/api/v1/members/", HTTP_ACCEPT=accept)  # authenticated as always: the account first
    assert usual.status_code == 401
    for path in _paths(community):
        refused = client.get(path, HTTP_ACCEPT=accept)
        assert refused.status_code == 401, (path, refused.content[:300])
        if accept == "application/json":
            assert refused.json() == usual.json(), path


@pytest.mark.parametrize("state", ["inactive", "deleted"])
def test_a_throttle_does_not_answer_before_the_account_is_refused(account, community, as_user, monkeypatch, state):
    monkeypatch.setitem(throttling.UserThrottle.THROTTLE_RATES, "user", "2/min")
    client = as_user(account)
    if state == "inactive":
        User.objects.filter(pk=account.pk).update(is_active=False)
    else:
        User.objects.filter(pk=account.pk).delete()
    for path in _paths(community):
        assert [client.get(path).status_code for _ in range(4)] == [401] * 4, path


def test_an_active_account_over_its_rate_is_throttled(account, community, as_user, monkeypatch):
    monkeypatch.setitem(throttling.UserThrottle.THROTTLE_RATES, "user", "2/min")
    client = as_user(account)
    statuses = [client.get("/api/v1/auth/users/me/").status_code for _ in range(3)]
    assert statuses == [200, 200, 429]


def test_head_of_the_own_account_answers_as_get_without_a_body(account, as_user):
    client = as_user(account)
    got, head = client.get("/api/v1/auth/users/me/"), client.head("/api/v1/auth/users/me/")
    assert head.status_code == got.status_code == 200 and head.content == b""
