"""The tree's public pages kept in the cache: served again without the database while the tree
stands, read again after any change to a row they show, never kept when not a plain page."""

import pytest
from django.core.cache import cache
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from backend.communities.public import public_map
from tests import factories
from tests.core.test_errors import assert_error

# Committed, as in production: a connection with a change not yet committed keeps nothing (core.versioned).
pytestmark = pytest.mark.django_db(transaction=True)
URL = "/api/v1/communities/"


@pytest.fixture
def tree():
    street = factories.StreetFactory(name="北街道")
    rows = [factories.CommunityFactory(street=street, name=f"北社区{i}") for i in range(25)]
    return street, rows


def statements(api, path, params=None):
    with CaptureQueriesContext(connection) as queries:
        response = api.get(path, params or {})
    return response, len(queries)


@pytest.mark.parametrize("params", [{}, {"page": 2}, {"page_size": 5, "page": 3}, {"street": "S"}])
def test_a_plain_page_is_served_again_without_the_database(api, tree, params):
    params = {key: (tree[0].pk if value == "S" else value) for key, value in params.items()}
    first, read = statements(api, URL, params)
    again, kept = statements(api, URL, params)
    assert first.status_code == again.status_code == 200
    assert again.json() == first.json()
    assert read >= 1 and kept == 0


@pytest.mark.parametrize("params", [{"search": "北"}, {"ordering": "-name"}, {"format": "json"}, {"x": "1"}])
def test_searches_orderings_and_unknown_parameters_are_not_kept(api, tree, params):
    _first, read = statements(api, URL, params)
    _again, again = statements(api, URL, params)
    assert read == again == 1


def test_errors_are_not_kept(api, tree):
    for params, status, code in (({"page": 9}, 404, "not_found"), ({"street": "north"}, 400, "validation_error")):
        assert_error(api.get(URL, params), status, code)
        assert_error(api.get(URL, params), status, code)
    factories.CommunityFactory.create_batch(200, street=tree[0])
    assert len(api.get(URL, {"page": 9}).json()["results"]) == 20


def test_every_change_to_a_row_shown_is_read_again(api, tree):
    street, rows = tree
    api.get(URL)
    rows[0].name = "改名社区"
    rows[0].save()
    assert api.get(URL).json()["results"][0]["name"] == "改名社区"

    street.name = "改名街道"
    street.save()
    assert {row["street_name"] for row in api.get(URL).json()["results"]} == {"改名街道"}

    rows[0].delete()
    assert api.get(URL).json()["count"] == 24

    grid_page = api.get("/api/v1/grids/").json()
    factories.GridFactory(community=rows[1])
    assert api.get("/api/v1/grids/").json()["count"] == grid_page["count"] + 1


def test_each_host_keeps_its_own_links(api, tree, settings):
    settings.ALLOWED_HOSTS = ["a.example.org", "b.example.org"]
    first = api.get(URL, HTTP_HOST="a.example.org").json()["next"]
    second = api.get(URL, HTTP_HOST="b.example.org").json()["next"]
    assert first.startswith("http://a.example.org/") and second.startswith("http://b.example.org/")


def test_a_page_read_before_a_commit_is_not_served_after_it(api, tree, django_capture_on_commit_callbacks):
    # A reader that read the tree before a change committed, and stored its page after the change's
    # first version, would keep the old page: the version changes again when the change commits.
    stale = api.get(URL).json()
    versioned = public_map.versioned
    key = versioned._key(public_map._key(api.get(URL).wsgi_request))
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        tree[1][0].delete()
        cache.set(key, (versioned.find([]).versions, stale))
    assert stale["count"] == 25
    assert api.get(URL).json()["count"] == 24
