"""The check-in screen (its page, the counts it catches up with, the socket token it asks for)."""

from __future__ import annotations

import json
import time

import pytest
from django.test import Client
from django.urls import reverse
from rest_framework_simplejwt.tokens import AccessToken

from backend.accounts.models import Role
from backend.activities.models import Activity
from tests import factories
from tests.activities.factories import ActivityFactory, enrol

pytestmark = pytest.mark.django_db


@pytest.fixture
def secretary(community):
    return factories.staff_of(community, Role.COMMUNITY_SECRETARY)


def _config(response) -> dict:
    page = response.content.decode()
    start = page.index('<script id="checkin-config" type="application/json">') + len(
        '<script id="checkin-config" type="application/json">'
    )
    return json.loads(page[start : page.index("</script>", start)])


def test_the_screen_shows_the_current_code_and_the_figures(client, community, secretary, settings):
    settings.CHECKIN_CODE_PERIOD_SECONDS = 30
    activity = ActivityFactory(community=community, title="七一主题党日")
    enrol(activity)
    client.force_login(secretary)
    response = client.get(reverse("console-checkin-screen", args=[activity.pk]))
    assert response.status_code == 200
    assert response["Cache-Control"].startswith("max-age=0")
    config = _config(response)
    assert config["code"]["qr_png"].startswith("data:image/png;base64,")
    assert config["code"]["period_seconds"] == 30
    assert config["counts"]["enrolled"] == 1
    assert config["codeUrl"] == f"/api/v1/activities/{activity.pk}/checkin-code/"
    page = response.content.decode()
    assert "七一主题党日" in page and "console/checkin.js" in page
    # The page carries no socket credential: the script asks for one when it connects.
    assert "token=" not in page and config.get("socketToken") is None


def test_another_communitys_screen_is_not_found(client, community, other_community):
    neighbour = factories.staff_of(other_community, Role.COMMUNITY_SECRETARY)
    activity = ActivityFactory(community=community)
    client.force_login(neighbour)
    assert client.get(reverse("console-checkin-screen", args=[activity.pk])).status_code == 404
    assert client.get(reverse("console-checkin-counts", args=[activity.pk])).status_code == 404
    listing = client.get(reverse("console-checkin-index")).content.decode()
    assert activity.title not in listing


@pytest.mark.parametrize("path", ["/admin/console/checkin/{pk}/", "/admin/console/attendance/{pk}/"])
def test_under_debug_a_foreign_activity_is_a_console_page_not_djangos(
    client, settings, community, other_community, path
):
    # As under `make run`: Django's technical 404 (yellow, English, the URL patterns) is not for her.
    settings.DEBUG = True
    activity = ActivityFactory(community=community)
    client.force_login(factories.staff_of(other_community, Role.COMMUNITY_SECRETARY))
    response = client.get(path.format(pk=activity.pk))
    page = response.content.decode()
    assert response.status_code == 404
    assert "未找到该页面或记录" in page
    assert "Page not found" not in page and "URLconf" not in page


def test_a_draft_has_no_code_to_show(client, community, secretary):
    draft = ActivityFactory(community=community, status=Activity.Status.DRAFT, published_at=None)
    client.force_login(secretary)
    response = client.get(reverse("console-checkin-screen", args=[draft.pk]))
    assert response.status_code == 200
    assert "checkin-closed" in response.content.decode()
    assert "data:image/png" not in response.content.decode()


def test_counts_catch_up_from_the_database(client, community, secretary):
    activity = ActivityFactory(community=community)
    enrol(activity)
    enrol(activity)
    client.force_login(secretary)
    body = client.get(reverse("console-checkin-counts", args=[activity.pk])).json()
    assert body["activity_id"] == activity.pk and body["enrolled"] == 2 and body["checked_in"] == 0


def test_the_socket_token_is_short_lived_for_the_session_user_and_needs_csrf(community, secretary, settings):
    client = Client(enforce_csrf_checks=True)
    client.force_login(secretary)
    url = reverse("console-socket-token")
    assert client.get(url).status_code == 405
    assert client.post(url).status_code == 403  # no CSRF token: another site cannot obtain one

    screen = client.get(reverse("console-checkin-screen", args=[ActivityFactory(community=community).pk]))
    csrf = _config(screen)["csrfToken"]
    response = client.post(url, HTTP_X_CSRFTOKEN=csrf)
    assert response.status_code == 200
    assert response["Cache-Control"].startswith("max-age=0")
    token = AccessToken(response.json()["token"])
    assert str(token["user_id"]) == str(secretary.pk)
    lifetime = token["exp"] - time.time()
    assert 0 < lifetime <= settings.CONSOLE_SOCKET_TOKEN_MINUTES * 60 + 5


def test_only_staff_get_a_socket_token_or_a_screen(client, community):
    worker = factories.UserFactory()
    factories.grant(worker, Role.GRID_WORKER, factories.GridFactory(community=community))
    client.force_login(worker)
    assert client.post(reverse("console-socket-token")).status_code == 403
    activity = ActivityFactory(community=community)
    assert client.get(reverse("console-checkin-screen", args=[activity.pk])).status_code == 403

    client.logout()
    response = client.post(reverse("console-socket-token"))
    assert response.status_code == 302 and reverse("admin:login") in response.url


def test_a_published_activitys_page_links_to_its_screen(client, community, secretary):
    activity = ActivityFactory(community=community)
    client.force_login(secretary)
    page = client.get(reverse("admin:activities_activity_change", args=[activity.pk])).content.decode()
    assert reverse("console-checkin-screen", args=[activity.pk]) in page
