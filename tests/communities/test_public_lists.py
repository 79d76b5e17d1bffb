"""The public lists of the administrative tree: one statement a page, the answer held to the schema."""

import pytest
from django.core.paginator import EmptyPage, PageNotAnInteger
from django.db import connection
from django.test.utils import CaptureQueriesContext

from backend.communities.models import Community
from backend.communities.serializers import CommunitySerializer, community_rows
from backend.core.filters import FilterBackend
from backend.core.pagination import CountInPagePaginator
from tests import factories
from tests.core.test_errors import assert_error

pytestmark = pytest.mark.django_db
URL = "/api/v1/communities/"


@pytest.fixture
def tree():
    north, south = factories.StreetFactory(name="北街道"), factories.StreetFactory(name="南街道")
    rows = [factories.CommunityFactory(street=north, name=f"北社区{i}", address=f"北路{i}号") for i in range(25)]
    rows += [factories.CommunityFactory(street=south, name=f"南社区{i}") for i in range(5)]
    return north, south, rows


def test_the_written_answer_is_the_serializers(tree):
    queryset = Community.objects.select_related("street").order_by("id")
    assert community_rows(queryset) == CommunitySerializer(queryset, many=True).data


@pytest.mark.parametrize(
    "params",
    [{}, {"page": 2}, {"street": "S"}, {"search": "南"}, {"ordering": "-name"}, {"page_size": 7, "page": 3}],
)
def test_a_page_is_what_the_serializer_would_write(api, tree, params):
    _north, south, _rows = tree
    params = {key: (south.pk if value == "S" else value) for key, value in params.items()}

    body = api.get(URL, params).json()

    queryset = Community.objects.select_related("street").order_by("id")
    if "street" in params:
        queryset = queryset.filter(street=south)
    if "search" in params:
        queryset = queryset.filter(name__contains="南")
    if "ordering" in params:
        queryset = queryset.order_by("-name")
    size = params.get("page_size", 20)
    start = (params.get("page", 1) - 1) * size
    assert body["count"] == queryset.count()
    assert body["results"] == CommunitySerializer(queryset[start : start + size], many=True).data
    assert (body["next"] is not None) == (start + size < queryset.count())


def test_a_page_is_one_statement_however_many_rows(api, tree):
    with CaptureQueriesContext(connection) as few:
        assert api.get(URL).json()["count"] == 30
    factories.CommunityFactory.create_batch(40, street=tree[0])
    with CaptureQueriesContext(connection) as many:
        body = api.get(URL, {"page": 2}).json()

    assert len(few) == len(many) == 1
    assert body["count"] == 70 and len(body["results"]) == 20
    assert "OVER ()" in many.captured_queries[0]["sql"]


def test_past_the_last_page_is_404_and_an_empty_list_is_one_empty_page(api, tree):
    assert_error(api.get(URL, {"page": 3}), 404, "not_found")
    assert_error(api.get(URL, {"page": "x"}), 404, "not_found")
    assert_error(api.get(URL, {"page": 0}), 404, "not_found")

    body = api.get(URL, {"street": factories.StreetFactory().pk}).json()
    assert body == {"count": 0, "next": None, "previous": None, "results": []}


def test_a_bad_filter_is_refused_as_before(api, tree):
    assert_error(api.get(URL, {"street": "north"}), 400, "validation_error")


def test_querysets_the_window_would_miscount_take_the_count_query(tree):
    queryset = Community.objects.order_by("id")
    cases = {
        "distinct": queryset.filter(street__name__contains="街道").distinct(),
        "values": queryset.values("id"),
        "union": Community.objects.filter(name__startswith="北")
        .order_by()
        .union(Community.objects.filter(name__startswith="南").order_by())
        .order_by("id"),
    }
    for name, rows in cases.items():
        with CaptureQueriesContext(connection) as queries:
            page = CountInPagePaginator(rows, 20).page(1)
        assert page.paginator.count == 30, name
        assert all("OVER ()" not in q["sql"] for q in queries), name
        assert any("COUNT(" in q["sql"] for q in queries), name


def test_the_paginator_refuses_what_djangos_refuses(tree):
    rows = Community.objects.order_by("id")
    with pytest.raises(PageNotAnInteger):
        CountInPagePaginator(rows, 20).page("1.5")
    with pytest.raises(EmptyPage):
        CountInPagePaginator(rows, 20).page(0)
    with pytest.raises(EmptyPage):
        CountInPagePaginator(rows, 20).page(3)
    page = CountInPagePaginator(rows, 20).page(2.0)
    assert page.number == 2 and len(page) == 10 and not page.has_next()


def test_the_filterset_class_is_built_once_per_view(api, tree):
    api.get(URL, {"street": tree[0].pk})
    from backend.communities.views import CommunityViewSet

    built = {key: cls for key, cls in FilterBackend._auto_filtersets.items() if key[0] is CommunityViewSet}
    assert len(built) == 1
    api.get(URL, {"street": tree[1].pk})
    assert {key: cls for key, cls in FilterBackend._auto_filtersets.items() if key[0] is CommunityViewSet} == built


def test_a_request_naming_no_filter_does_not_build_the_filterset(api, tree, monkeypatch):
    from django_filters import FilterSet

    built = []
    real_init = FilterSet.__init__

    def counted(self, *args, **kwargs):
        built.append(type(self))
        real_init(self, *args, **kwargs)

    monkeypatch.setattr(FilterSet, "__init__", counted)
    assert api.get(URL, {"search": "南"}).json()["count"] == 5
    assert built == []
    assert api.get(URL, {"street": tree[1].pk}).json()["count"] == 5
    assert len(built) == 1


@pytest.mark.parametrize("path", ["/api/v1/streets/", "/api/v1/communities/", "/api/v1/grids/"])
def test_a_page_number_past_any_offset_is_a_404_not_a_database_error(api, community, path):
    # The window-count page sends its OFFSET before knowing the count: 2**70 rows in was a 500.
    response = api.get(path, {"page": str(2**70)})
    assert response.status_code == 404 and response.json()["code"] == "not_found"
