"""Members' reads of someone else's details in the personal-data audit log."""

from __future__ import annotations

import pytest

from backend.accounts.models import PersonalDataAccess
from tests.members.factories import DemandFactory, registered_member

pytestmark = pytest.mark.django_db


def test_the_claimer_reading_the_contact_phone_is_audited(community, resident, as_user):
    member = registered_member(community)
    demand = DemandFactory(community=community, requester=resident, contact_phone="13512345678")
    claimed = as_user(member.user).post(f"/api/v1/demands/{demand.id}/claim/")
    assert claimed.status_code == 200 and claimed.json()["contact_phone"] == "13512345678"
    detail = as_user(member.user).get(f"/api/v1/demands/{demand.id}/")
    assert detail.json()["contact_phone"] == "13512345678"
    reads = PersonalDataAccess.objects.filter(what="demand_contact")
    assert reads.count() == 2
    assert {(r.actor_id, r.subject_id, r.object_id) for r in reads} == {(member.user_id, resident.pk, demand.pk)}
    # The requester reading their own demand is not someone else's read.
    as_user(resident).get(f"/api/v1/demands/{demand.id}/")
    assert reads.count() == 2
