"""Well-formed ID numbers tried by one account, members and volunteers alike, are bounded per day
(only those can be looked up); a number another account holds is answered the same in both apps,
naming no one. A malformed number is told what is wrong with it and counts nothing."""

import pytest

from backend.members.models import MemberRegistration, PartyMember
from backend.volunteers.models import Volunteer
from tests import factories
from tests.members.factories import id_number
from tests.volunteers.factories import VolunteerFactory, with_id

pytestmark = pytest.mark.django_db

MEMBER_REGISTRATIONS = "/api/v1/members/registrations/"
VOLUNTEER_ME = "/api/v1/volunteers/me/"
MALFORMED = "430602198001011234"  # wrong check digit


@pytest.fixture
def member_payload(community):
    return {
        "community": community.id,
        "organization": factories.UnitOrganizationFactory().id,
        "real_name": "张三",
        "phone": "13812345678",
        "status": "full",
        "consent": True,
    }


def _throttled(response) -> None:
    assert response.status_code == 429, response.json()
    assert response.json()["code"] == "throttled" and set(response.json()) == {"code", "detail"}


def test_members_and_volunteers_count_towards_one_daily_bound(settings, resident, community, member_payload, as_user):
    settings.ID_NUMBER_ATTEMPTS_PER_DAY = 2
    held_by_member, held_by_volunteer = id_number("43060219800101123"), id_number("43060219800101124")
    as_user(factories.UserFactory()).post(MEMBER_REGISTRATIONS, {**member_payload, "id_number": held_by_member})
    with_id(VolunteerFactory(community=community), held_by_volunteer)
    client = as_user(resident)
    # Forms without a number, and malformed numbers, count nothing.
    assert client.post(VOLUNTEER_ME, {"community": community.pk}).status_code == 201
    for _ in range(3):
        assert client.post(MEMBER_REGISTRATIONS, {**member_payload, "id_number": MALFORMED}).status_code == 400
    first = client.post(MEMBER_REGISTRATIONS, {**member_payload, "id_number": held_by_member})
    second = client.patch(VOLUNTEER_ME, {"id_number": held_by_volunteer, "consent": True}, format="json")
    assert (first.status_code, second.status_code) == (400, 400)

    _throttled(client.post(MEMBER_REGISTRATIONS, {**member_payload, "id_number": id_number("43060219800101125")}))
    _throttled(client.patch(VOLUNTEER_ME, {"id_number": id_number("43060219800101126"), "consent": True}))
    assert not PartyMember.objects.filter(user=resident).exists()
    assert not MemberRegistration.objects.filter(member__user=resident).exists()
    assert Volunteer.objects.get(user=resident).id_number_hash is None
    # Another account has its own count.
    other = as_user(factories.UserFactory())
    assert other.post(MEMBER_REGISTRATIONS, {**member_payload, "id_number": held_by_member}).status_code == 400


def test_a_number_someone_holds_tells_nothing_in_either_app(resident, community, member_payload, as_user):
    held = id_number("43060219800101123")
    as_user(factories.UserFactory()).post(MEMBER_REGISTRATIONS, {**member_payload, "id_number": held})
    with_id(VolunteerFactory(community=community), held)
    client = as_user(resident)
    member = client.post(MEMBER_REGISTRATIONS, {**member_payload, "id_number": held})
    volunteer = client.post(VOLUNTEER_ME, {"community": community.pk, "consent": True, "id_number": held})
    assert member.status_code == volunteer.status_code == 400
    assert member.json() == volunteer.json()
    assert member.json()["fields"] == {"id_number": ["证件号码无法登记, 请核对后重新填写"]}
    # The malformed number is told what is wrong with it instead.
    malformed = client.post(MEMBER_REGISTRATIONS, {**member_payload, "id_number": MALFORMED})
    assert "校验位" in str(malformed.json()["fields"]["id_number"])
