"""The coverage selectors the reports app counts for 五个全覆盖, against a hand-counted fixture."""

import datetime as dt

import pytest

from backend.red_property import selectors
from tests import factories

from .factories import GovernanceFactory, OwnersCommitteeFactory, PropertyCompanyFactory

pytestmark = pytest.mark.django_db

ON = dt.date(2026, 6, 1)


@pytest.fixture
def town(community, other_community, settings):
    """Community A: four estates; community B: one; a third community with none."""
    settings.OWNERS_COMMITTEE_HOUSEHOLDS = 100
    red_company = PropertyCompanyFactory(
        street=community.street, party_organization=factories.OrganizationFactory(community=community)
    )
    plain_company = PropertyCompanyFactory(street=community.street)
    a1 = factories.EstateFactory(community=community, households=400)  # all five
    a2 = factories.EstateFactory(community=community, households=300)  # served, committee expired
    a3 = factories.EstateFactory(community=community, households=80)  # small, no service
    a4 = factories.EstateFactory(community=community, households=90)  # small but must form one (override)
    b1 = factories.EstateFactory(community=other_community, households=500, has_property_service=False)
    GovernanceFactory(
        estate=a1,
        property_company=red_company,
        party_organization=factories.OrganizationFactory(community=community),
        is_red_property=True,
        red_property_since=dt.date(2025, 7, 1),
    )
    GovernanceFactory(estate=a2, property_company=plain_company)
    a3.has_property_service = False
    a3.save()
    GovernanceFactory(estate=a4, property_company=red_company, owners_committee_required_override=True)
    OwnersCommitteeFactory(estate=a1, term_start=dt.date(2024, 1, 1), term_end=dt.date(2028, 12, 31))
    OwnersCommitteeFactory(estate=a2, term_start=dt.date(2020, 1, 1), term_end=dt.date(2024, 12, 31))
    OwnersCommitteeFactory(estate=a3, term_start=dt.date(2024, 1, 1), term_end=dt.date(2028, 12, 31))
    return {"a1": a1, "a2": a2, "a3": a3, "a4": a4, "b1": b1, "empty": factories.CommunityFactory()}


def test_each_selector(town, community):
    ids = [community.id]
    a1, a2, a3, a4 = town["a1"], town["a2"], town["a3"], town["a4"]
    assert set(selectors.estates_with_party_organization(community_ids=ids)) == {a1}
    assert set(selectors.estates_requiring_owners_committee(community_ids=ids)) == {a1, a2, a4}
    # a3 has a committee but is not required to: it is not counted in the rate's numerator.
    assert a3.owners_committees.exists()
    assert set(selectors.estates_with_current_owners_committee(community_ids=ids, on=ON)) == {a1}
    assert set(selectors.estates_with_current_owners_committee(community_ids=ids, on=dt.date(2024, 6, 1))) == {
        a1,
        a2,
    }
    assert set(selectors.estates_with_property_service(community_ids=ids)) == {a1, a2, a4}
    assert set(selectors.red_property_estates(community_ids=ids)) == {a1}
    companies = selectors.property_companies_serving(community_ids=ids)
    assert companies.count() == 2
    assert companies.filter(party_organization__isnull=False).count() == 1


def test_coverage_by_community_in_one_query(town, community, other_community, django_assert_num_queries):
    asked = [community.id, other_community.id, town["empty"].id]
    with django_assert_num_queries(1):
        coverage = selectors.coverage_by_community(asked, on=ON)
    a = coverage[community.id]
    assert (a.estates, a.with_party_organization, a.committee_required, a.committee_formed) == (4, 1, 3, 1)
    assert (a.with_property_service, a.red_property) == (3, 1)
    assert (a.property_companies, a.property_companies_with_party_organization) == (2, 1)
    b = coverage[other_community.id]
    assert (b.estates, b.committee_required, b.committee_formed, b.with_property_service) == (1, 1, 0, 0)
    assert coverage[town["empty"].id] == selectors.CommunityCoverage(town["empty"].id, 0, 0, 0, 0, 0, 0, 0, 0)
