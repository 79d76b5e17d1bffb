"""Shared fixtures: API clients signed in as each role, the map, and the fake WeChat server."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import RefreshToken

from tests import factories


@pytest.fixture(autouse=True)
def _isolated(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def api():
    return APIClient()


def client_for(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {RefreshToken.for_user(user).access_token}")
    return client


@pytest.fixture
def as_user():
    """`as_user(user)` → an APIClient sending that user's access token."""
    return client_for


@pytest.fixture
def street(db):
    return factories.StreetFactory()


@pytest.fixture
def community(street):
    return factories.CommunityFactory(street=street)


@pytest.fixture
def other_community(street):
    return factories.CommunityFactory(street=street)


@pytest.fixture
def resident(db):
    return factories.UserFactory()
