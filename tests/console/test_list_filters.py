"""A list takes only the query parameters it offers: its filters, its search box, its date bar,
ordering and pages. Any other lookup on a column (`?phone__startswith=139`) answered with or
without the row, so a masked phone could be rebuilt digit by digit; now every undeclared one is
refused alike, right guess or wrong, and no search reaches a phone or an ID number."""

from __future__ import annotations

import pytest
from django.contrib import admin
from django.urls import reverse

from backend.accounts.models import Role
from backend.core.events import Audience
from backend.notices import services as notices
from tests import factories
from tests.appeals.factories import AppealFactory
from tests.members.factories import DemandFactory, registered_member, registered_unit

pytestmark = pytest.mark.django_db

PHONE = "13912340005"
MEMBERS = "admin:members_partymember_changelist"


@pytest.fixture
def world(community, other_community):
    liaison = factories.UserFactory()
    unit = registered_unit(community, liaison=liaison)
    member = registered_member(community, organization=unit.organization, real_name="王五", phone=PHONE)
    resident = factories.UserFactory(phone="13612345678", real_name="赵居民")
    appeal = AppealFactory(community=community, resident=resident)
    demand = DemandFactory(community=community, contact_phone="13512345678", title="修水管")
    return {
        "liaison": liaison,
        "unit": unit,
        "member": member,
        "appeal": appeal,
        "demand": demand,
        "secretary": factories.staff_of(community, Role.COMMUNITY_SECRETARY),
        "other_secretary": factories.staff_of(other_community, Role.COMMUNITY_SECRETARY),
    }


def refused(response) -> bool:
    """The changelist's answer to a filter it does not take: back to the bare list, nothing shown."""
    return response.status_code == 302 and response.url.endswith("?e=1")


def probe(client, changelist: str, query: dict[str, str]):
    return client.get(reverse(changelist), query)


@pytest.mark.parametrize(
    "lookup",
    [
        {"phone__startswith": PHONE[:3]},
        {"phone__startswith": PHONE[:7]},
        {"phone__regex": f"^{PHONE}$"},
        {"phone": PHONE},
        {"phone__contains": "1234"},
        {"id_number_hash__isnull": "False"},
    ],
)
def test_a_liaison_cannot_guess_a_masked_phone_through_the_url(client, world, lookup):
    client.force_login(world["liaison"])
    # The list shows her unit's member, phone masked.
    page = probe(client, MEMBERS, {}).content.decode()
    assert "王五" in page and PHONE not in page

    right = probe(client, MEMBERS, lookup)
    wrong = probe(client, MEMBERS, {key: value.replace("1", "0") for key, value in lookup.items()})
    assert refused(right) and refused(wrong)
    assert right.url == wrong.url


def test_what_a_list_offers_still_works(client, world):
    client.force_login(world["liaison"])
    for query in (
        {"status__exact": "full"},
        {"registration_status": "approved"},
        {"q": "王五"},
        {"o": "1"},
        {"o": "-1", "p": "1"},
        {"_popup": "1", "_to_field": "id"},
        {"all": ""},
        {"_facets": "True"},
    ):
        response = probe(client, MEMBERS, query)
        assert response.status_code == 200, query
        assert "王五" in response.content.decode(), query


def test_search_does_not_reach_the_phone(client, world):
    client.force_login(world["liaison"])
    for term in (PHONE, PHONE[:3], PHONE[-4:]):
        response = probe(client, MEMBERS, {"q": term})
        assert response.status_code == 200 and "王五" not in response.content.decode()


@pytest.mark.parametrize("who", ["secretary", "other_secretary", "liaison"])
@pytest.mark.parametrize(
    ("changelist", "lookup"),
    [
        ("admin:appeals_appeal_changelist", {"contact_phone__startswith": "136"}),
        ("admin:appeals_appeal_changelist", {"contact_phone__regex": "^13612345678$"}),
        ("admin:members_demand_changelist", {"contact_phone__regex": "^135"}),
        ("admin:members_unitregistration_changelist", {"contact_phone__startswith": "1"}),
        ("admin:members_memberregistration_changelist", {"phone__startswith": "139"}),
        ("admin:members_partymember_changelist", {"user__phone__startswith": "139"}),
        ("admin:appeals_appeal_changelist", {"submitted_at__gte": "2000-01-01"}),
    ],
)
def test_undeclared_lookups_are_refused_for_everyone(client, world, who, changelist, lookup):
    client.force_login(world[who])
    if client.get(reverse(changelist)).status_code == 403:
        return  # not a list she may open (the liaison's appeals, member registrations)
    assert refused(probe(client, changelist, lookup))


def test_the_secretary_keeps_her_filters_and_date_bar(client, world):
    client.force_login(world["secretary"])
    appeals = "admin:appeals_appeal_changelist"
    year = world["appeal"].submitted_at.year
    for query in (
        {"status__exact": "submitted"},
        {"community__id__exact": str(world["appeal"].community_id)},
        {"submitted_at__year": str(year)},
        {"submitted_at__year": str(year), "submitted_at__month": str(world["appeal"].submitted_at.month)},
        {"q": "堆放"},
    ):
        response = probe(client, appeals, query)
        assert response.status_code == 200, query
        assert "赵居民" in response.content.decode(), query
    assert refused(probe(client, appeals, {"contact_phone__startswith": "136"}))
    assert refused(probe(client, appeals, {"contact_phone": "13612345678"}))

    demands = probe(client, "admin:members_demand_changelist", {"status__exact": world["demand"].status})
    assert demands.status_code == 200 and "修水管" in demands.content.decode()


def test_the_link_to_a_notices_receipts_still_filters(client, community):
    secretary = factories.staff_of(community, Role.COMMUNITY_SECRETARY)
    notice = notices.create_notice(sender=secretary, title="停水通知", body="b", audience=Audience.community(community))
    client.force_login(secretary)
    response = probe(client, "admin:notices_noticereceipt_changelist", {"notice__id__exact": str(notice.pk)})
    assert response.status_code == 200
    assert {receipt.notice_id for receipt in response.context["cl"].result_list} == {notice.pk}


def test_the_refused_list_shows_the_bare_list_with_a_warning(client, world):
    client.force_login(world["liaison"])
    response = client.get(reverse(MEMBERS), {"phone__startswith": "139"}, follow=True)
    assert response.status_code == 200
    assert "筛选条件无效" in response.content.decode()


def _search_paths(model_admin) -> list[str]:
    return [*model_admin.search_fields, *getattr(model_admin, "staff_search_fields", ())]


def test_no_search_reaches_a_phone_or_an_id_number_but_by_the_whole_of_it():
    """Search fields never hold a phone or an ID column, except as an exact match (`=`) offered only
    to staff, who see the full value of the rows in their scope anyway."""
    for model, model_admin in admin.site._registry.items():
        staff_only = set(getattr(model_admin, "staff_search_fields", ()))
        for path in _search_paths(model_admin):
            column = path.lstrip("=^@").rsplit("__", 1)[-1]
            if "phone" in column or "id_number" in column:
                assert path.startswith("=") and (path in staff_only or not hasattr(model_admin, "scope_paths")), (
                    f"{model.__name__} searches {path}"
                )
