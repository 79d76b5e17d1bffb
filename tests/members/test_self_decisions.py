"""Staff who are members themselves never decide their own 双报到 nor correct their own points:
403 in the error format, before anything about the input, and nothing written."""

import pytest
from django.utils import timezone

from backend.core.errors import DomainError
from backend.members import services
from backend.members.models import MemberRegistration, PointsEntry, RegistrationStep
from tests import factories
from tests.members.factories import file_registration, registered_member

pytestmark = pytest.mark.django_db

REGISTRATIONS = "/api/v1/members/registrations/"
POINTS = "/api/v1/members/points/"


def _refused(response) -> None:
    assert response.status_code == 403, response.json()
    assert response.json()["code"] == "permission_denied"


@pytest.fixture
def secretary(community):
    return factories.staff_of(community)


@pytest.mark.parametrize(("action", "body"), [("approve", {}), ("reject", {"reason": "信息有误"}), ("reject", {})])
def test_staff_do_not_decide_their_own_registration(secretary, community, as_user, action, body):
    own = file_registration(secretary, community, factories.UnitOrganizationFactory())
    steps = RegistrationStep.objects.count()
    _refused(as_user(secretary).post(f"{REGISTRATIONS}{own.pk}/{action}/", body, format="json"))
    own.refresh_from_db()
    assert (own.status, own.decided_by) == (MemberRegistration.Status.PENDING, None)
    assert RegistrationStep.objects.count() == steps
    # A colleague decides it.
    colleague = as_user(factories.staff_of(community))
    assert colleague.post(f"{REGISTRATIONS}{own.pk}/approve/").status_code == 200


def test_staff_do_not_revoke_their_own_registration(secretary, community, as_user):
    registered_member(community, user=secretary)
    own = MemberRegistration.objects.get(member__user=secretary)
    _refused(as_user(secretary).post(f"{REGISTRATIONS}{own.pk}/revoke/", {"reason": ""}, format="json"))
    assert MemberRegistration.objects.get(pk=own.pk).status == MemberRegistration.Status.APPROVED
    with pytest.raises(DomainError) as caught:
        services.revoke_registration(registration=own, by=secretary, reason="搬家")
    assert caught.value.code == "permission_denied"


@pytest.mark.parametrize("body", [{"points": 50, "reason": "补录"}, {"points": "many"}, {}])
def test_staff_do_not_correct_their_own_points(secretary, community, as_user, body):
    member = registered_member(community, user=secretary)
    _refused(as_user(secretary).post(f"{POINTS}corrections/", {"member": member.pk, **body}, format="json"))
    assert not PointsEntry.objects.exists()
    with pytest.raises(DomainError) as caught:
        services.correct_points(member=member, points=50, reason="补录", by=secretary, year=timezone.now().year)
    assert caught.value.code == "permission_denied"
    assert not PointsEntry.objects.exists()


@pytest.mark.parametrize("action", ["approve", "reject"])
def test_staff_who_speak_for_a_unit_do_not_decide_its_filing(community, as_user, action):
    # A secretary who is also a unit's liaison (granted elsewhere) is a party to its filing.
    unit = factories.UnitOrganizationFactory()
    secretary = factories.staff_of(community)
    factories.grant(secretary, "unit_liaison", unit)
    filing = services.register_unit(
        by=factories.UserFactory(),
        organization=unit,
        community=community,
        contact_name="李联络",
        contact_phone="13912340000",
        agreement_date=timezone.localdate(),
    )
    _refused(as_user(secretary).post(f"/api/v1/members/unit-registrations/{filing.pk}/{action}/", {}, format="json"))
    filing.refresh_from_db()
    assert filing.status == "pending" and filing.decided_by is None


def test_a_member_cannot_name_another_communitys_branch(community, other_community, resident, as_user):
    # Approval would place them in that branch, whose own staff could neither see it nor end it.
    payload = {
        "community": community.pk,
        "real_name": "外街道",
        "phone": "13700000003",
        "status": "full",
        "consent": True,
    }
    elsewhere = factories.OrganizationFactory(community=other_community)
    response = as_user(resident).post(REGISTRATIONS, {**payload, "organization": elsewhere.pk}, format="json")
    assert response.status_code == 400 and set(response.json()["fields"]) == {"organization"}
    assert not MemberRegistration.objects.exists()
    for fine in (factories.OrganizationFactory(community=community), factories.UnitOrganizationFactory()):
        answer = as_user(factories.UserFactory()).post(
            REGISTRATIONS, {**payload, "organization": fine.pk}, format="json"
        )
        assert answer.status_code == 201, answer.json()
