"""One demand filed from a phone that retries at once, on PostgreSQL: threads released together by a
barrier, each its own connection, through the whole HTTP stack. One row, one answer, no 5xx."""

from __future__ import annotations

import uuid
from collections import Counter

import pytest
from django.db import connection

from backend.members.models import Demand, DemandStep
from tests import factories
from tests.concurrency import together
from tests.conftest import client_for

pytestmark = [
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="SQLite lets one writer in at a time, so there is no race to lose; run with a PostgreSQL DATABASE_URL",
    ),
    pytest.mark.django_db(transaction=True),
]

THREADS = 20


def test_one_client_id_retried_at_once_files_one_demand(community):
    requester = factories.UserFactory()
    client = client_for(requester)
    body = {"kind": "wish", "community": community.pk, "title": "想要一台收音机", "client_id": str(uuid.uuid4())}
    responses = together([lambda: client.post("/api/v1/demands/", body, format="json") for _ in range(THREADS)])
    for response in responses:
        assert not isinstance(response, Exception), repr(response)
    assert Counter(response.status_code for response in responses) == Counter({201: 1, 200: THREADS - 1})
    assert len({response.json()["id"] for response in responses}) == 1
    assert Demand.objects.filter(requester=requester).count() == 1
    assert DemandStep.objects.filter(demand__requester=requester).count() == 1
