"""Appeals and a person's data: whose appeals are in their export and lose their contact details
when the account is deleted, and the overdue list's reads in the audit log."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from django.utils import timezone

from backend.accounts.models import PersonalDataAccess
from backend.appeals import selectors, services
from backend.appeals.models import Appeal

pytestmark = pytest.mark.django_db


def test_the_export_holds_the_residents_own_appeals_with_their_steps(town, file_appeal):
    appeal = file_appeal(contact_name="张三", contact_phone="13711112222")
    services.accept(appeal=appeal, by=town.worker)
    [exported] = selectors.personal_data(town.resident)["appeals"]
    assert exported["id"] == appeal.pk and exported["contact_phone"] == "13711112222"
    assert [step["kind"] for step in exported["steps"]] == ["submitted", "accepted"]
    assert not {"actor", "actor_id"} & set(exported["steps"][0])


def test_an_appeal_filed_on_someones_behalf_is_theirs_not_the_filers(town, file_appeal):
    appeal = file_appeal(
        by=town.worker, source=Appeal.Source.GRID_WORKER, contact_name="王奶奶", contact_phone="13788889999"
    )
    assert appeal.resident is None or appeal.resident != town.worker
    assert selectors.personal_data(town.worker) == {"appeals": []}
    # The grid worker leaving does not take the resident's contact with them.
    services.erase_personal_data(town.worker, now=timezone.now())
    appeal.refresh_from_db()
    assert (appeal.contact_name, appeal.contact_phone) == ("王奶奶", "13788889999")


def test_erasure_blanks_the_contact_and_keeps_the_appeal(town, file_appeal):
    appeal = file_appeal(contact_name="张三", contact_phone="13711112222")
    services.accept(appeal=appeal, by=town.worker)
    steps = list(appeal.steps.values_list())
    services.erase_personal_data(town.resident, now=timezone.now())
    appeal.refresh_from_db()
    assert (appeal.contact_name, appeal.contact_phone, appeal.status) == ("", "", "accepted")
    assert list(appeal.steps.values_list()) == steps


def test_the_overdue_list_is_audited(town, as_user):
    appeal, _ = services.submit_appeal(
        now=timezone.now() - timedelta(days=10),
        by=town.resident,
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
