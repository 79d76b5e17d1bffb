"""One community's page of activities (`?community=C`) is read by statements of its own
(selectors.community_page) and written without models (serializers.page_rows). It must answer what
the ORM's path answers (visible_activities, with_counts, the filter, COUNT(*) and the page, then
ActivitySerializer): the same rows, values, total, order and links for every kind of caller, and
the same errors for bad input; in a fixed number of statements however many rows there are."""

from __future__ import annotations

import itertools
import json
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.renderers import JSONRenderer

from backend.accounts.models import Role, User
from backend.activities import selectors
from backend.activities.models import Activity, Enrollment
from backend.activities.serializers import ActivitySerializer
from backend.activities.views import ActivityViewSet
from backend.brands.models import Brand
from backend.communities.models import PartyOrganization
from backend.members.models import MemberRegistration
from tests import factories
from tests.activities.factories import ActivityFactory, enrol, image_upload, party_member
from tests.activities.test_attendance import phone_check_in

pytestmark = pytest.mark.django_db

URL = "/api/v1/activities/"


def _former(user, community) -> list[Activity]:
    """The page's rows as the ORM's path reads them, in the list's default order."""
    return list(
        selectors.with_counts(selectors.visible_activities(user).filter(community=community), user=user).order_by(
            "-starts_at", "-id"
        )
    )


@pytest.fixture
def world():
    """A community whose activities cover every audience and status, a few sharing a start, with
    brands, branches, covers, enrolments of each kind and check-ins; a neighbour's activities; and
    a caller of each kind."""
    street, other_street = factories.StreetFactory(), factories.StreetFactory()
    here = factories.CommunityFactory(street=street)
    there = factories.CommunityFactory(street=street)
    elsewhere = factories.CommunityFactory(street=other_street)
    branch = factories.OrganizationFactory(community=here)
    group = factories.OrganizationFactory(community=there, parent=branch, kind=PartyOrganization.Kind.GROUP)
    other_branch = factories.OrganizationFactory(community=there)
    far_group = factories.OrganizationFactory(community=elsewhere, parent=branch, kind=PartyOrganization.Kind.GROUP)
    brand = Brand.objects.create(community=here, name="岳阳楼下党旗红")
    staff = factories.staff_of(here)
    revoked = factories.staff_of(here)
    revoked.role_grants.update(revoked_at=timezone.now())
    superuser = factories.UserFactory(is_superuser=True, is_staff=True)
    callers = {
        "resident": factories.UserFactory(community=here),
        "outsider": factories.UserFactory(),
        "registered here, in a group": party_member(here, organization=group).user,
        "in the branch, not registered": party_member(organization=branch).user,
        "in a group of the branch": party_member(organization=far_group).user,
        "registered elsewhere": party_member(elsewhere, organization=other_branch).user,
        "pending here": party_member(organization=other_branch).user,
        "staff here": staff,
        "staff there": factories.staff_of(there, role=Role.COMMUNITY_STAFF),
        "street admin": factories.admin_of(street),
        "other street's admin": factories.admin_of(other_street),
        "revoked staff": revoked,
        "superuser": superuser,
    }
    pending = callers["pending here"].party_member
    MemberRegistration.objects.create(
        member=pending,
        community=here,
        organization=other_branch,
        real_name="待审",
        phone="13800000001",
        consent=pending.consent,
        status=MemberRegistration.Status.PENDING,
    )

    start = timezone.now() + timedelta(days=1)
    activities = []
    for n, (audience, status) in enumerate(itertools.product(Activity.Audience.values, Activity.Status.values)):
        activities.append(
            ActivityFactory(
                community=here,
                organiser=staff,
                audience=audience,
                status=status,
                branch={Activity.Audience.BRANCH: (branch, other_branch)[n % 2]}.get(audience),
                brand=brand if n % 3 == 0 else None,
                cover=image_upload(staff) if n % 5 == 0 else None,
                # Every third pair starts together: the order falls back to the id.
                starts_at=start + timedelta(hours=n - n % 3),
                capacity=3 if n % 4 == 0 else None,
                enrollment_deadline=start if n % 4 == 1 else None,
                checkin_opens_before_minutes=45 if n % 2 else None,
                checkout_closes_after_minutes=15 if n % 3 else None,
                cancelled_at=start if status == Activity.Status.CANCELLED else None,
                cancel_reason="改期" if status == Activity.Status.CANCELLED else "",
                finished_at=start if status == Activity.Status.FINISHED else None,
                latitude="29.123457",
                longitude="113.000001",
            )
        )
    for audience in Activity.Audience.values:
        ActivityFactory(
            community=there, audience=audience, branch=group if audience == Activity.Audience.BRANCH else None
        )

    for n, activity in enumerate(activities):
        for user in list(callers.values())[n % 4 :: 4]:
            status = (Enrollment.Status.ENROLLED, Enrollment.Status.WAITLISTED, Enrollment.Status.WITHDRAWN)[n % 3]
            enrol(activity, user, status=status)
            if status == Enrollment.Status.ENROLLED and n % 2:
                phone_check_in(activity, user)
                phone_check_in(activity, user, kind="out")
        enrol(activity)
        if n % 2:
            phone_check_in(activity, enrol(activity, status=Enrollment.Status.WAITLISTED).user)
    # Held by a place alone: a branch activity of another branch; and a place given up.
    hidden = [a for a in activities if a.branch_id == other_branch.pk and a.status != Activity.Status.DRAFT]
    enrol(hidden[0], callers["resident"])
    enrol(hidden[1], callers["outsider"], status=Enrollment.Status.WITHDRAWN)
    return here, callers


def test_the_pages_hold_the_former_querys_rows_for_every_caller(world):
    here, callers = world
    for name, user in callers.items():
        former = _former(user, here)
        assert former, name  # each caller sees something, so the comparison means something
        for size, number in ((20, 1), (7, 1), (7, 2), (7, 3), (3, 5), (100, 1)):
            offset = (number - 1) * size
            page = selectors.community_page(user=user, community_id=here.pk, offset=offset, limit=size)
            expected = former[offset : offset + size]
            assert [row["id"] for row in page.rows] == [a.pk for a in expected], (name, size, number)
            assert page.total == (len(former) if expected else 0), name
            for row, activity in zip(page.rows, expected, strict=True):
                assert {key: row[key] for key in selectors.ROW_KEYS} == {
                    key: getattr(activity, key) for key in selectors.ROW_KEYS
                }, name
                assert (row["community_name"], row["brand_name"], row["branch_name"], row["cover"]) == (
                    activity.community.name,
                    activity.brand and activity.brand.name,
                    activity.branch and activity.branch.name,
                    activity.cover,
                )
                counts = ("enrolled_count", "waitlisted_count", "checked_in_count", "my_enrollment", "my_checked_in")
                assert {key: row[key] for key in counts} == {key: getattr(activity, key) for key in counts}, name


def test_drafts_show_to_the_communitys_staff_only(world):
    here, callers = world
    drafts = set(Activity.objects.filter(community=here, status=Activity.Status.DRAFT).values_list("pk", flat=True))

    def shown(name):
        page = selectors.community_page(user=callers[name], community_id=here.pk, offset=0, limit=100)
        return {row["id"] for row in page.rows}

    for name in ("staff here", "street admin"):
        assert drafts <= shown(name), name
    # A superuser's scope is no filter in visible_activities (an empty Q), so it adds no drafts:
    # the list has always shown them what a resident sees.
    for name in ("staff there", "other street's admin", "revoked staff", "resident", "superuser"):
        assert not drafts & shown(name), name


def _as_json(data) -> object:
    return json.loads(JSONRenderer().render(data))


def test_the_answer_is_the_serializers(as_user, world):
    here, callers = world
    for name in ("registered here, in a group", "staff here", "resident"):
        user = callers[name]
        response = as_user(user).get(URL, {"community": here.pk, "page_size": 100})
        assert response.status_code == 200
        former = _former(user, here)
        expected = ActivitySerializer(former, many=True, context={"request": response.wsgi_request}).data
        assert response.json()["results"] == _as_json(expected), name
        assert response.json()["count"] == len(former)


QUERIES = [
    "community={here}",
    "community={here}&page=2&page_size=7",
    "page_size=7&community={here}&page=3",
    "community={here}&page=",
    "community={here}&page=1",
    "community={here}&page=01",
    "community={here}&page=9",
    "community={here}&page=2147483649",
    "community={here}&page=9999999999999999999",
    "community={here}&page=0",
    "community={here}&page=-1",
    "community={here}&page=last",
    "community={here}&page=x",
    "community={here}&page=2&page=1",
    "community={here}&page_size=0",
    "community={here}&page_size=1000",
    "community={here}&page_size=abc",
    "community={here}&page_size=3&page=2",
    "community={empty}",
    "community={empty}&page=2",
    "community={missing}",
    "community={missing}&page=2",
    "community=abc",
    "community=1.0",
    "community=%2B{here}",
    "community=%20{here}",
    "community=%EF%BC%91",
    "community=",
    "community=0",
    "community=-1",
    "community=99999999999999999999",
    "community={here}&community={empty}",
    "community={here}&status=published",
    "community={here}&ordering=starts_at",
    "community={here}&search=主题",
    "community={here}&format=json",
    "",
]


def test_every_query_answers_as_the_general_path(as_user, world, monkeypatch):
    here, callers = world
    empty = factories.CommunityFactory()
    missing = empty.pk + 1000
    for name in ("registered here, in a group", "staff here", "superuser", "outsider"):
        client = as_user(callers[name])
        for query in QUERIES:
            path = f"{URL}?{query.format(here=here.pk, empty=empty.pk, missing=missing)}"
            fast = client.get(path)
            with monkeypatch.context() as general_path:
                general_path.setattr(ActivityViewSet, "_community_list", lambda self, request: None)
                general = client.get(path)
            assert (fast.status_code, fast.content) == (general.status_code, general.content), (name, path)
    # The comparison covers answers of each kind.
    client = as_user(callers["resident"])
    assert client.get(f"{URL}?community={here.pk}&page=9").status_code == 404
    assert client.get(f"{URL}?community={missing}").status_code == 400
    assert client.get(f"{URL}?community={empty.pk}").json() == {
        "count": 0,
        "next": None,
        "previous": None,
        "results": [],
    }
    body = client.get(f"{URL}?community={here.pk}&page=2&page_size=3").json()
    assert body["next"].endswith("page=3&page_size=3") and body["previous"].endswith(
        f"?community={here.pk}&page_size=3"
    )


def _statements(client, query: str) -> list[str]:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(f"{URL}?{query}").status_code == 200
    return [query["sql"] for query in captured.captured_queries]


def test_the_page_is_four_statements_however_many_rows(as_user, community):
    member = party_member(community)
    client = as_user(member.user)
    branch = factories.OrganizationFactory(community=community)
    brand = Brand.objects.create(community=community, name="品牌")

    def add(n):
        for i in range(n):
            activity = ActivityFactory(
                community=community,
                audience=("party_members", "community", "branch")[i % 3],
                branch=branch if i % 3 == 2 else None,
                brand=brand if i % 2 else None,
            )
            enrol(activity, member.user)
            enrol(activity, status=Enrollment.Status.WAITLISTED)
            phone_check_in(activity, member.user)

    add(2)
    few = _statements(client, f"community={community.pk}")
    add(30)
    many = _statements(client, f"community={community.pk}&page_size=100")
    # The account with the caller's grants and party facts (authentication does not read it first),
    # the page with its total, the page's counts: no ORM COUNT(*), no filter form's lookup, no
    # statement per row.
    assert len(few) == len(many) == 3, many
    assert not any("COUNT(*) AS" in sql or "communities_community" in sql.split(" WHERE ")[0] for sql in many)
    assert client.get(f"{URL}?community={community.pk}&page_size=100").json()["count"] == 32

    # Covers are read in one more statement, however many rows have one.
    staff = factories.staff_of(community)
    Activity.objects.filter(pk__in=Activity.objects.order_by("id").values("pk")[:1]).update(cover=image_upload(staff))
    one = _statements(client, f"community={community.pk}&page_size=100")
    Activity.objects.update(cover=image_upload(staff))
    every = _statements(client, f"community={community.pk}&page_size=100")
    assert len(one) == len(every) == 4


def test_staff_read_the_page_in_as_many_statements(as_user, community):
    client = as_user(factories.staff_of(community))
    ActivityFactory(community=community, status=Activity.Status.DRAFT)
    few = _statements(client, f"community={community.pk}")
    for _ in range(5):
        enrol(ActivityFactory(community=community))
    many = _statements(client, f"community={community.pk}")
    # One more than a resident's: the scope of a community's staff reads its grids (accounts.scoping).
    assert len(few) == len(many) == 4


def test_a_gone_or_inactive_account_is_refused_as_authentication_refuses_it(as_user, community):
    # The page's first statement reads the account's state: authentication does not read it first.
    ActivityFactory(community=community)
    user = factories.UserFactory(community=community)
    client = as_user(user)
    assert client.get(f"{URL}?community={community.pk}").status_code == 200
    user.is_active = False
    user.save()
    for account in ("inactive", "gone"):
        fast = client.get(f"{URL}?community={community.pk}")
        usual = client.get(f"{URL}?community={community.pk}&status=published")  # authenticated as always
        assert fast.status_code == 401 and (fast.status_code, fast.json()) == (usual.status_code, usual.json()), account
        User.objects.filter(pk=user.pk).delete()


def test_a_signed_in_console_session_reads_the_same_page(client, community):
    ActivityFactory(community=community)
    staff = factories.staff_of(community)
    client.force_login(staff)
    session = client.get(f"{URL}?community={community.pk}", HTTP_ACCEPT="application/json")
    assert session.status_code == 200 and session.json()["count"] == 1


def test_the_selector_reads_nothing_past_a_gone_or_inactive_account(community, django_assert_num_queries):
    ActivityFactory(community=community)
    user = factories.UserFactory(community=community)
    assert selectors.community_page(user=user, community_id=community.pk, offset=0, limit=20).account_active is True
    User.objects.filter(pk=user.pk).update(is_active=False)
    with django_assert_num_queries(1):  # the caller's statement only
        page = selectors.community_page(user=user, community_id=community.pk, offset=0, limit=20)
    assert (page.rows, page.total, page.account_active) == ([], 0, False)
    User.objects.filter(pk=user.pk).delete()
    with django_assert_num_queries(1):
        page = selectors.community_page(user=user, community_id=community.pk, offset=0, limit=20)
    assert (page.rows, page.total, page.account_active) == ([], 0, None)
