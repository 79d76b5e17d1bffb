"""Who may act is answered before what is wrong with the input, and the read rules live in one place."""

import datetime as dt
from decimal import Decimal

import pytest

from backend.core.errors import DomainError
from backend.red_property import selectors, services
from backend.red_property.models import EstateGovernance
from tests import factories

from .factories import JointMeetingFactory, OwnersCommitteeFactory, SelfGovernanceGroupFactory

pytestmark = pytest.mark.django_db

GOVERNANCE = "/api/v1/red-property/estates/"


def _refused(call) -> None:
    with pytest.raises(DomainError) as caught:
        call()
    assert caught.value.code == "permission_denied"


BACKWARDS = {"term_start": dt.date(2026, 1, 1), "term_end": dt.date(2025, 1, 1)}


@pytest.mark.parametrize(
    "shape",
    ["create", "update", "add-follow-up", "record-meeting", "sheet", "register", "governance"],
)
def test_a_caller_without_the_right_hears_403_even_with_invalid_input(shape, estate, other_staff, staff, street):
    """Every shape of service: the other community's staff with input that is wrong as well."""
    calls = {
        "create": lambda: services.create_owners_committee(by=other_staff, estate=estate, **BACKWARDS),
        "update": lambda: services.update_owners_committee(
            by=other_staff, committee=OwnersCommitteeFactory(estate=estate), **BACKWARDS
        ),
        "add-follow-up": lambda: services.add_follow_up(
            by=other_staff,
            meeting=JointMeetingFactory(estate=estate, held_on=dt.date(2026, 3, 1)),
            content="x",
            owner="x",
            due_date=dt.date(2020, 1, 1),
        ),
        "record-meeting": lambda: services.record_self_governance_meeting(
            by=other_staff,
            group=SelfGovernanceGroupFactory(estate=estate),
            held_on=dt.date(2999, 1, 1),
            topics="x",
        ),
        "sheet": lambda: services.create_assessment_item(
            by=staff, street=street, year=2026, category="x", name="x", max_points=Decimal("-1")
        ),
        "register": lambda: services.create_property_company(
            by=factories.staff_of(factories.CommunityFactory()), name="x", credit_code="bad", street=street
        ),
        "governance": lambda: services.update_estate_governance(
            by=other_staff, estate=estate, party_organization=factories.OrganizationFactory()
        ),
    }
    _refused(calls[shape])


def test_community_staff_naming_a_demonstration_estate_hear_403_before_the_value_is_read(as_user, secretary, estate):
    response = as_user(secretary).patch(f"{GOVERNANCE}{estate.id}/", {"is_red_property": "maybe"})
    assert response.status_code == 403, response.content
    assert response.json()["code"] == "permission_denied"
    assert not EstateGovernance.objects.exists()


def test_who_may_change_which_part_of_the_governance(estate, staff, street_admin, other_staff):
    services.check_may_change_governance(by=staff, estate=estate, fields=["notes", "property_company"])
    services.check_may_change_governance(by=street_admin, estate=estate, fields=["is_red_property"])
    _refused(lambda: services.check_may_change_governance(by=staff, estate=estate, fields=["red_property_since"]))
    _refused(lambda: services.check_may_change_governance(by=other_staff, estate=estate, fields=["notes"]))


def test_phones_are_whole_only_on_one_record_read_by_staff(staff, resident):
    assert selectors.phones_shown_whole(staff, one_record=True)
    assert not selectors.phones_shown_whole(staff, one_record=False)
    assert not selectors.phones_shown_whole(resident, one_record=True)


def test_only_street_admins_keep_the_assessment_sheets(staff, street_admin, resident):
    assert services.may_keep_sheets(user=street_admin)
    assert not services.may_keep_sheets(user=staff)
    assert not services.may_keep_sheets(user=resident)
