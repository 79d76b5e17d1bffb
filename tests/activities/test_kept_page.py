"""The community's page kept for every caller of the same kind (selectors.page.pages): read again
with the caller's statement and their own enrolment and check-in alone, the same answer as the
statements give for every kind of caller, and read afresh after every write that changes it."""

from __future__ import annotations

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from backend.accounts.models import User
from backend.activities import selectors, services
from backend.activities.models import Activity, Enrollment
from backend.activities.selectors import page as page_module
from backend.activities.serializers import written_rows
from backend.activities.services.enrollment import _promote_waitlist as promote_waitlist
from backend.brands.models import Brand
from backend.communities.models import Place
from tests import factories
from tests.activities.factories import ActivityFactory, enrol, image_upload, party_member, position_body
from tests.activities.test_community_page import _former, world  # noqa: F401  (a fixture)

# Committed, as in production: a connection with a change not yet committed keeps nothing (core.versioned).
pytestmark = pytest.mark.django_db(transaction=True)
URL = "/api/v1/activities/"
SHOWN = ("id", "enrolled_count", "waitlisted_count", "checked_in_count", "my_enrollment", "my_checked_in")


def _page(user, community, offset=0, limit=20):
    with CaptureQueriesContext(connection) as queries:
        page = selectors.kept_community_page(
            user=user, community_id=community.pk, offset=offset, limit=limit, write=written_rows
        )
    return page, [query["sql"] for query in queries]


def test_kept_pages_answer_as_the_statements_do_for_every_caller(world):  # noqa: F811  (the fixture)
    here, callers = world
    names = list(callers)
    kept = set()
    # Each kind's pages kept by one caller and served to the others of that kind, in both orders.
    for order in (names, names[::-1], names):
        for name in order:
            user = callers[name]
            former = _former(user, here)
            for size, number in ((20, 1), (7, 2)):
                offset = (number - 1) * size
                page, statements = _page(user, here, offset, size)
                expected = former[offset : offset + size]
                assert [{key: row[key] for key in SHOWN} for row in page.rows] == [
                    {key: getattr(activity, key) for key in SHOWN} for activity in expected
                ], (name, size, number)
                assert [(row["brand_name"], row["branch_name"], row["cover"]) for row in page.rows] == [
                    (a.brand and a.brand.name, a.branch and a.branch.name, a.cover_id) for a in expected
                ], name
                assert page.covers == {a.cover_id: a.cover for a in expected if a.cover_id}, name
                assert page.total == len(former), name
                if len(statements) == 2 + any(row["cover"] for row in page.rows):
                    kept.add(name)
    # Staff of the community share theirs. The resident's place in another branch's activity shows
    # them what no one of their kind sees: never a kept page (nor are those whose places the world
    # made in activities for party members or branches not theirs).
    assert {"staff here", "street admin", "registered here, in a group"} <= kept and "resident" not in kept


@pytest.fixture
def street_world(community):
    staff = factories.staff_of(community)
    brand = Brand.objects.create(community=community, name="初心驿站")
    branch = factories.OrganizationFactory(community=community)
    activities = [
        ActivityFactory(community=community, organiser=staff, brand=brand, capacity=1, title="活动0"),
        ActivityFactory(community=community, organiser=staff, title="活动1"),
        ActivityFactory(community=community, organiser=staff, audience=Activity.Audience.BRANCH, branch=branch),
    ]
    return community, staff, brand, branch, activities


def _shown(client, community):
    response = client.get(URL, {"community": community.pk})
    assert response.status_code == 200, response.content
    return {row["id"]: row for row in response.json()["results"]}


def test_every_write_that_changes_a_page_is_read_afresh(as_user, street_world):
    community, _staff, brand, branch, (first, second, for_branch) = street_world
    reader = factories.UserFactory(community=community)
    client = as_user(reader)
    before = _shown(client, community)
    assert before[first.pk]["enrolled_count"] == 0 and for_branch.pk not in before

    # An enrolment, then a second one waiting (the activity has one place).
    taken = factories.UserFactory(community=community)
    services.enroll(activity=first, by=taken)
    assert _shown(client, community)[first.pk]["enrolled_count"] == 1
    waiting = factories.UserFactory(community=community)
    services.enroll(activity=first, by=waiting)
    assert _shown(client, community)[first.pk]["waitlisted_count"] == 1
    # Given up: the waiting one is promoted by one UPDATE, which sends no signal.
    services.withdraw(activity=first, by=taken)
    assert Enrollment.objects.get(activity=first, user=waiting).status == Enrollment.Status.ENROLLED
    shown = _shown(client, community)[first.pk]
    assert (shown["enrolled_count"], shown["waitlisted_count"]) == (1, 0)

    # A phone check-in: a statement written once, no signal.
    assert as_user(waiting).post(f"{URL}{first.pk}/check-in/", position_body(first)).status_code == 201
    assert _shown(client, community)[first.pk]["checked_in_count"] == 1

    second.title = "改名活动"
    second.save()
    assert _shown(client, community)[second.pk]["title"] == "改名活动"
    brand.name = "红色驿站"
    brand.save()
    assert _shown(client, community)[first.pk]["brand_name"] == "红色驿站"
    community.name = "改名社区"
    community.save()
    assert _shown(client, community)[second.pk]["community_name"] == "改名社区"

    # The reader joins the branch: their kind changes, and the branch's activity shows at once.
    party_member(organization=branch, user=reader)
    assert _shown(client, community)[for_branch.pk]["branch_name"] == branch.name
    branch.name = "第二党支部"
    branch.save()
    assert _shown(client, community)[for_branch.pk]["branch_name"] == "第二党支部"


def test_the_callers_own_rows_are_their_own_on_a_kept_page(as_user, street_world):
    community, _staff, _brand, _branch, (_first, second, _for_branch) = street_world
    one, other = factories.UserFactory(community=community), factories.UserFactory(community=community)
    enrol(second, one)
    mine = _shown(as_user(one), community)
    client = as_user(other)
    with CaptureQueriesContext(connection) as queries:
        theirs = _shown(client, community)
    assert len(queries) == 2  # served the page one kept: the caller and their own rows
    assert mine[second.pk]["my_enrollment"] == "enrolled" and theirs[second.pk]["my_enrollment"] is None
    assert {key: value for key, value in mine[second.pk].items() if not key.startswith("my_")} == {
        key: value for key, value in theirs[second.pk].items() if not key.startswith("my_")
    }


def test_a_kept_page_refuses_a_gone_or_inactive_account(as_user, street_world):
    community = street_world[0]
    user = factories.UserFactory(community=community)
    client = as_user(user)
    _shown(client, community)
    _shown(as_user(factories.UserFactory(community=community)), community)
    User.objects.filter(pk=user.pk).update(is_active=False)
    usual = client.get("/api/v1/members/")  # authenticated as always: the account first
    refused = client.get(URL, {"community": community.pk})
    assert refused.status_code == usual.status_code == 401 and refused.json() == usual.json()


def test_a_read_that_saw_a_write_not_yet_committed_is_not_kept(street_world):
    community, staff, *_ = street_world
    reader = factories.UserFactory(community=community)
    before = _page(reader, community)[0]
    with pytest.raises(RuntimeError), transaction.atomic():
        ActivityFactory(community=community, organiser=staff, title="未提交")
        assert len(_page(reader, community)[0].rows) == len(before.rows) + 1
        raise RuntimeError("rolled back")
    # No change follows a rollback: had the read inside kept its page, it would be served now.
    assert _page(reader, community)[0] == before


def test_another_communitys_writes_keep_this_communitys_pages(as_user, street_world, other_community):
    community = street_world[0]
    reader = factories.UserFactory(community=community)
    _page(reader, community)
    assert len(_page(reader, community)[1]) == 2
    ActivityFactory(community=other_community)
    assert len(_page(reader, community)[1]) == 2


def test_a_promotion_from_the_waiting_list_is_read_afresh(as_user, street_world):
    community, _staff, _brand, _branch, (first, *_rest) = street_world
    services.enroll(activity=first, by=factories.UserFactory(community=community))
    services.enroll(activity=first, by=factories.UserFactory(community=community))
    client = as_user(factories.UserFactory(community=community))
    assert _shown(client, community)[first.pk]["waitlisted_count"] == 1
    # A second place, given by an UPDATE of its own (no signal), then the waiting list's promotion
    # (one UPDATE, no signal either): the service says the page changed.
    Activity.objects.filter(pk=first.pk).update(capacity=2)
    first.refresh_from_db()
    with transaction.atomic():
        promote_waitlist(first)
    shown = _shown(client, community)[first.pk]
    assert (shown["enrolled_count"], shown["waitlisted_count"]) == (2, 0)


def test_the_kept_page_of_a_kind_never_holds_what_a_readers_place_shows_them(as_user, street_world, monkeypatch):
    # An activity's audience narrows (committed by staff) after the reader's places were read and
    # before their page is: the page kept for their kind must still be the kind's alone.
    community, staff, *_ = street_world
    holder, other = factories.UserFactory(community=community), factories.UserFactory(community=community)
    activity = ActivityFactory(community=community, organiser=staff, title="先公开后限党员")
    services.enroll(activity=activity, by=holder)
    real_find, narrowed = page_module.pages.find, []

    def find(keys, *, part=None):
        if not narrowed:
            narrowed.append(True)
            services.update_activity(activity=activity, by=staff, audience=Activity.Audience.PARTY_MEMBERS)
        return real_find(keys, part=part)

    monkeypatch.setattr(page_module.pages, "find", find)
    as_user(holder).get(URL, {"community": community.pk})
    monkeypatch.setattr(page_module.pages, "find", real_find)
    assert activity.pk not in _shown(as_user(other), community)
    assert activity.pk in _shown(as_user(holder), community)  # their place shows it them, from their own page


@pytest.mark.parametrize("deleted", ["venue", "cover"])
def test_deleting_what_an_activity_points_at_is_read_afresh(as_user, street_world, deleted):
    # SET NULL empties the activity's column by an UPDATE of its own: no signal for the activity.
    community, staff, *_ = street_world
    pointed = (
        Place.objects.create(community=community, name="党群服务中心", latitude=29.37, longitude=113.09, radius_m=100)
        if deleted == "venue"
        else image_upload(staff)
    )
    activity = ActivityFactory(community=community, organiser=staff, **{deleted: pointed})
    client = as_user(factories.UserFactory(community=community))
    assert _shown(client, community)[activity.pk][deleted] == pointed.pk
    pointed.delete()
    assert _shown(client, community)[activity.pk][deleted] is None
