"""Handlers' reads of appeals in the personal-data audit log (the detail's are in test_api)."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from django.utils import timezone

from backend.accounts.models import PersonalDataAccess
from backend.appeals import services

pytestmark = pytest.mark.django_db


def test_the_overdue_list_is_audited(town, as_user):
    appeal, _ = services.submit_appeal(
        now=timezone.now() - timedelta(days=10),
        filer=town.resident,
        client_id=uuid.uuid4(),
        community=town.community,
        category="facilities",
        content="电梯异响",
    )
    response = as_user(town.secretary).get("/api/v1/appeals/overdue/")
    assert response.json()["count"] == 1
    access = PersonalDataAccess.objects.get()
    assert (access.actor, access.subject, access.what, access.object_id) == (
        town.secretary,
        town.resident,
        "appeal",
        appeal.pk,
    )
