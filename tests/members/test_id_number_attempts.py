"""ID numbers tried by one account, members and volunteers alike, are bounded per day; a number
another account holds is answered as any refused number, before and after the bound."""

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
    client = as_user(resident)
    # Forms without a number count nothing.
    assert client.post(VOLUNTEER_ME, {"community": community.pk}).status_code == 201
    first = client.post(MEMBER_REGISTRATIONS, {**member_payload, "id_number": MALFORMED})
    second = client.patch(VOLUNTEER_ME, {"id_number": MALFORMED, "consent": True}, format="json")
    assert (first.status_code, second.status_code) == (400, 400)

    _throttled(client.post(MEMBER_REGISTRATIONS, {**member_payload, "id_number": id_number("43060219800101123")}))
    _throttled(client.patch(VOLUNTEER_ME, {"id_number": id_number("43060219800101124"), "consent": True}))
    assert not PartyMember.objects.exists() and not MemberRegistration.objects.exists()
    assert Volunteer.objects.get(user=resident).id_number_hash is None
    # Another account has its own count.
    other = as_user(factories.UserFactory())
    assert other.post(MEMBER_REGISTRATIONS, {**member_payload, "id_number": MALFORMED}).status_code == 400


def test_a_number_someone_holds_tells_nothing_in_either_app(resident, community, member_payload, as_user):
    held = id_number("43060219800101123")
    as_user(factories.UserFactory()).post(MEMBER_REGISTRATIONS, {**member_payload, "id_number": held})
    with_id(VolunteerFactory(community=community), held)
    client = as_user(resident)
    answers = [
        client.post(MEMBER_REGISTRATIONS, {**member_payload, "id_number": number}) for number in (held, MALFORMED)
    ]
    assert answers[0].json() == answers[1].json() and answers[0].status_code == answers[1].status_code == 400
    body = {"community": community.pk, "consent": True}
    answers = [client.post(VOLUNTEER_ME, {**body, "id_number": number}) for number in (held, MALFORMED)]
    assert answers[0].json() == answers[1].json() and answers[0].status_code == answers[1].status_code == 400
