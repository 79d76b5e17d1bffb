"""Privacy consents: listing one's own and withdrawing (PIPL art. 15)."""

from __future__ import annotations

import pytest

from backend.members.models import (
    ConsentWithdrawal,
    MemberRegistration,
    PartyMember,
    PointsEntry,
    PostAssignment,
    PrivacyConsent,
)
from tests import factories
from tests.members.factories import PostFactory, id_number, registered_member

pytestmark = pytest.mark.django_db

CONSENTS = "/api/v1/members/consents/"
WITHDRAW = "/api/v1/members/consents/withdraw/"
REGISTRATIONS = "/api/v1/members/registrations/"
ID_NUMBER = id_number("43060219800101123")


def assert_error(response, status: int, code: str) -> dict:
    body = response.json()
    assert response.status_code == status, body
    assert body["code"] == code and set(body) <= {"code", "detail", "fields"}
    return body


def register(client, community, organization, **extra):
    body = {
        "community": community.id,
        "organization": organization.id,
        "real_name": "李四",
        "phone": "13712345678",
        "status": "full",
        "consent": True,
        "id_number": ID_NUMBER,
        "address": "洞庭路2号",
        **extra,
    }
    return client.post(REGISTRATIONS, body, format="json")


@pytest.fixture
def branch(community):
    return factories.OrganizationFactory(community=community)


@pytest.fixture
def registered(community, branch, resident, as_user):
    """The resident registered (双报到) with an ID number, approved, holding a post."""
    assert register(as_user(resident), community, branch).status_code == 201
    registration = MemberRegistration.objects.get(member__user=resident)
    registration.status = MemberRegistration.Status.APPROVED
    registration.approved_at = registration.submitted_at
    registration.save()
    PostAssignment.objects.create(post=PostFactory(community=community), member=registration.member)
    PointsEntry.objects.create(user=resident, source="test:1", points=3, requested_points=3, year=2026)
    return registration


def test_my_consents_are_listed_and_only_mine(registered, resident, community, as_user):
    other = registered_member(community)
    mine = as_user(resident).get(CONSENTS)
    assert mine.status_code == 200
    [consent] = mine.json()
    assert consent["purpose"] == "party_member" and consent["withdrawn_at"] is None
    assert consent["id"] == registered.consent_id
    assert [c["id"] for c in as_user(other.user).get(CONSENTS).json()] == [other.consent_id]


def test_withdrawing_ends_the_registration_and_erases_the_details(registered, resident, as_user):
    points = list(PointsEntry.objects.values_list())
    response = as_user(resident).post(WITHDRAW, {"purpose": "party_member"}, format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["purpose"] == "party_member" and body["consent"] == registered.consent_id

    registration = MemberRegistration.objects.get(pk=registered.pk)
    assert registration.status == "withdrawn" and registration.withdrawn_at is not None
    assert (registration.real_name, registration.phone, registration.address) == ("", "", "")
    member = PartyMember.objects.get(user=resident)
    assert (member.real_name, member.phone, member.id_number_encrypted, member.id_number_hash) == ("", "", "", None)
    assert not PostAssignment.objects.filter(member=member, left_at__isnull=True).exists()
    # What was done under the consent stays: the points ledger, the registration's history.
    assert list(PointsEntry.objects.values_list()) == points
    assert as_user(resident).get(CONSENTS).json()[0]["withdrawn_at"] == body["withdrawn_at"]

    # A retry answers with the same withdrawal and changes nothing.
    again = as_user(resident).post(WITHDRAW, {"purpose": "party_member"}, format="json")
    assert again.status_code == 200 and again.json() == body
    assert ConsentWithdrawal.objects.count() == 1


def test_registering_again_asks_for_a_new_consent(registered, resident, community, branch, as_user):
    client = as_user(resident)
    client.post(WITHDRAW, {"purpose": "party_member"}, format="json")
    assert_error(register(client, community, branch, consent=False), 400, "consent_required")
    assert register(client, community, branch).status_code == 201
    consents = client.get(CONSENTS).json()
    assert len(consents) == 2 and consents[0]["withdrawn_at"] is None
    member = PartyMember.objects.get(user=resident)
    assert member.real_name == "李四" and member.id_number_hash is not None
    # The new consent can be withdrawn in its turn.
    assert client.post(WITHDRAW, {"purpose": "party_member"}, format="json").status_code == 201


def test_withdrawing_a_consent_never_given_is_a_conflict(resident, as_user):
    assert_error(
        as_user(resident).post(WITHDRAW, {"purpose": "party_member"}, format="json"), 409, "invalid_transition"
    )
    assert not ConsentWithdrawal.objects.exists()


@pytest.mark.parametrize("body", [{}, {"purpose": "everything"}, {"purpose": ""}, {"purpose": ["party_member"]}])
def test_a_bad_purpose_is_refused(registered, resident, as_user, body):
    response = as_user(resident).post(WITHDRAW, body, format="json")
    assert_error(response, 400, "validation_error")
    assert not ConsentWithdrawal.objects.exists()
    assert MemberRegistration.objects.get(pk=registered.pk).status == "approved"


def test_consents_need_a_signed_in_user(api):
    assert_error(api.get(CONSENTS), 401, "not_authenticated")
    assert_error(api.post(WITHDRAW, {"purpose": "party_member"}, format="json"), 401, "not_authenticated")


def test_one_person_withdrawing_leaves_another_untouched(registered, resident, community, as_user):
    other = registered_member(community)
    as_user(resident).post(WITHDRAW, {"purpose": "party_member"}, format="json")
    other_member = PartyMember.objects.get(pk=other.pk)
    assert other_member.real_name and other_member.phone
    assert MemberRegistration.objects.get(member=other).status == "approved"
    assert PrivacyConsent.objects.filter(user=other.user, withdrawal__isnull=True).exists()
