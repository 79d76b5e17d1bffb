"""Content negotiation kept per process answers as DRF's negotiates."""

import pytest
from django.http import Http404
from rest_framework import exceptions
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.renderers import BrowsableAPIRenderer
from rest_framework.request import Request
from rest_framework.settings import api_settings
from rest_framework.test import APIRequestFactory

from backend.activities.views import XlsxRenderer
from backend.core import negotiation
from backend.core.renderers import JSONRenderer


@pytest.fixture(autouse=True)
def _empty_table():
    negotiation._answers.clear()
    yield
    negotiation._answers.clear()


def request_with(accept=None, query=""):
    headers = {} if accept is None else {"HTTP_ACCEPT": accept}
    return Request(APIRequestFactory().get(f"/api/v1/x/{query}", **headers))


def renderers():
    return [JSONRenderer(), BrowsableAPIRenderer(), XlsxRenderer()]


HEADERS = [
    None,
    "application/json",
    "*/*",
    "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
    "application/json; indent=4",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "text/*",
    "application/*;q=0.5, text/html",
]


def test_the_api_negotiates_with_it():
    assert api_settings.DEFAULT_CONTENT_NEGOTIATION_CLASS is negotiation.ContentNegotiation


def outcome(negotiator, accept, query):
    offered = renderers()
    try:
        renderer, media_type = negotiator.select_renderer(request_with(accept, query), offered)
    except (exceptions.NotAcceptable, Http404) as refusal:
        return type(refusal)
    return offered.index(renderer), media_type


@pytest.mark.parametrize("accept", HEADERS)
@pytest.mark.parametrize("query", ["", "?format=json", "?format=xlsx", "?format=api"])
def test_the_answer_is_drfs_asked_once_or_again(accept, query):
    ours, drf = negotiation.ContentNegotiation(), DefaultContentNegotiation()
    theirs = outcome(drf, accept, query)
    assert outcome(ours, accept, query) == theirs
    assert outcome(ours, accept, query) == theirs  # from the table, when it was an answer
    assert len(negotiation._answers) == (0 if isinstance(theirs, type) else 1)


def test_the_renderer_given_is_one_of_this_requests():
    ours = negotiation.ContentNegotiation()
    ours.select_renderer(request_with("application/json"), renderers())
    fresh = renderers()
    renderer, _ = ours.select_renderer(request_with("application/json"), fresh)
    assert renderer is fresh[0]


def test_refusals_are_drfs_and_not_kept():
    ours = negotiation.ContentNegotiation()
    for _ in range(2):
        with pytest.raises(exceptions.NotAcceptable):
            ours.select_renderer(request_with("image/png"), renderers())
        with pytest.raises(Http404):
            ours.select_renderer(request_with(None, "?format=csv"), renderers())
    assert len(negotiation._answers) == 0


def test_the_table_is_bounded(monkeypatch):
    monkeypatch.setattr(negotiation._answers, "size", 3)
    ours = negotiation.ContentNegotiation()
    for i in range(10):
        ours.select_renderer(request_with(f"application/json, text/x-{i}"), renderers())
        assert len(negotiation._answers) <= 3
    long_header = "application/json, " + "x" * negotiation.HEADER_MAX
    renderer, media_type = ours.select_renderer(request_with(long_header), renderers())
    assert isinstance(renderer, JSONRenderer) and media_type == "application/json"
    assert all(key[0] != long_header for key in negotiation._answers._answers)


@pytest.mark.django_db
def test_an_api_request_is_answered_in_the_format_asked(api):
    response = api.get("/api/v1/communities/", HTTP_ACCEPT="text/html")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/html")
    response = api.get("/api/v1/communities/", HTTP_ACCEPT="application/json")
    assert response.status_code == 200 and response["Content-Type"] == "application/json"
    response = api.get("/api/v1/communities/", HTTP_ACCEPT="image/png")
    assert response.status_code == 406
