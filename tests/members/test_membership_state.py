"""双报到 as the one membership state: only an approved registration, from its approval until it
ends, makes a person a member of a community and of the organisation they named.

The cast files through the services, as a phone would: one approved member, and beside them an
applicant (pending), a refused one, one who withdrew and one whose registration staff revoked,
all naming the same branch of the same community. Only the approved member may appear or count.
"""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from backend.activities import selectors as activity_selectors
from backend.activities.models import Activity, Enrollment
from backend.members import selectors, services
from backend.members.models import MemberRegistration, PartyMember, PointsEntry, PostAssignment, RegistrationStep
from backend.reports import selectors as report_selectors
from tests import factories
from tests.activities.factories import ActivityFactory
from tests.members.factories import PostFactory, file_registration

pytestmark = pytest.mark.django_db

AudienceKind = Activity.Audience

REGISTRATIONS = "/api/v1/members/registrations/"
MEMBERS = "/api/v1/members/"


class Cast:
    pass


def apply(user, community, organization, grid=None) -> MemberRegistration:
    return file_registration(user, community, organization, grid=grid)


@pytest.fixture
def cast(community):
    c = Cast()
    c.community = community
    c.grid = factories.GridFactory(community=community)
    c.branch = factories.OrganizationFactory(community=community, name="第一党支部")
    c.staff = factories.staff_of(community)
    people = {}
    for name in ("approved", "pending", "rejected", "withdrawn", "revoked"):
        user = factories.UserFactory(community=community)
        people[name] = apply(user, community, c.branch, c.grid)
    services.approve_registration(registration=people["approved"], by=c.staff)
    services.reject_registration(registration=people["rejected"], by=c.staff, reason="不是本社区居民")
    services.approve_registration(registration=people["withdrawn"], by=c.staff)
    services.withdraw_registration(registration=people["withdrawn"], by=people["withdrawn"].member.user)
    services.approve_registration(registration=people["revoked"], by=c.staff)
    services.revoke_registration(registration=people["revoked"], by=c.staff, reason="已搬离")
    c.registrations = {name: MemberRegistration.objects.get(pk=r.pk) for name, r in people.items()}
    c.users = {name: r.member.user for name, r in c.registrations.items()}
    c.member = PartyMember.objects.get(user=c.users["approved"])
    c.outsiders = [c.users[name] for name in ("pending", "rejected", "withdrawn", "revoked")]
    return c


def test_only_the_approved_registration_gives_the_organisation_named(cast):
    organizations = dict(PartyMember.objects.values_list("user_id", "organization_id"))
    assert organizations[cast.users["approved"].pk] == cast.branch.pk
    for user in cast.outsiders:
        assert organizations[user.pk] is None


def test_every_state_is_kept_with_who_and_when(cast):
    def history(name):
        return list(
            RegistrationStep.objects.filter(registration=cast.registrations[name])
            .order_by("id")
            .values_list("from_status", "to_status", "actor_id")
        )

    applicant, staff = cast.users["revoked"].pk, cast.staff.pk
    assert history("revoked") == [
        ("", "pending", applicant),
        ("pending", "approved", staff),
        ("approved", "revoked", staff),
    ]
    withdrawer = cast.users["withdrawn"].pk
    assert history("withdrawn")[-1] == ("approved", "withdrawn", withdrawer)
    assert history("rejected")[-1] == ("pending", "rejected", staff)
    assert history("pending") == [("", "pending", cast.users["pending"].pk)]
    step = RegistrationStep.objects.filter(registration=cast.registrations["revoked"]).last()
    assert step.reason == "已搬离" and step.at is not None


def test_a_registration_filed_again_after_ending_is_a_claim_until_approved(cast):
    again = apply(cast.users["withdrawn"], cast.community, cast.branch)
    assert PartyMember.objects.get(user=cast.users["withdrawn"]).organization_id is None
    services.approve_registration(registration=again, by=cast.staff)
    assert PartyMember.objects.get(user=cast.users["withdrawn"]).organization_id == cast.branch.pk


def test_withdrawing_the_consent_ends_the_membership(cast):
    services.withdraw_consent(by=cast.users["approved"], purpose="party_member")
    assert PartyMember.objects.get(user=cast.users["approved"]).organization_id is None
    assert cast.users["approved"].pk not in activity_selectors.branch_member_user_ids(cast.branch.pk)
    last = RegistrationStep.objects.filter(registration=cast.registrations["approved"]).last()
    assert (last.from_status, last.to_status) == ("approved", "withdrawn")


# Audiences ------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", [AudienceKind.COMMUNITY, AudienceKind.PARTY_MEMBERS, AudienceKind.BRANCH])
def test_no_audience_takes_anyone_but_the_approved_member(cast, kind):
    # Residents of elsewhere: the community audience must not take them in by their home either.
    for user in [cast.users["approved"], *cast.outsiders]:
        user.community = None
        user.save(update_fields=["community"])
    activity = ActivityFactory(community=cast.community, audience=kind, branch=cast.branch)
    assert activity_selectors.in_audience(activity, cast.users["approved"])
    for user in cast.outsiders:
        assert not activity_selectors.in_audience(activity, user), user
    if kind != AudienceKind.COMMUNITY:
        for user in cast.outsiders:
            assert not activity_selectors.visible_activities(user).filter(pk=activity.pk).exists()
        assert activity_selectors.visible_activities(cast.users["approved"]).filter(pk=activity.pk).exists()


def test_audience_user_sets_hold_only_the_approved_member(cast):
    approved = {cast.users["approved"].pk}
    assert activity_selectors.branch_member_user_ids(cast.branch.pk) == approved
    assert activity_selectors.community_party_member_user_ids(cast.community.pk) == approved
    assert selectors.community_user_ids([cast.community.pk]) == approved
    assert selectors.street_user_ids([cast.community.street_id]) == approved
    assert selectors.grid_user_ids([cast.grid.pk]) == approved


@pytest.mark.parametrize("who", ["pending", "rejected", "withdrawn", "revoked"])
def test_outsiders_cannot_enrol_in_a_branch_meeting(cast, as_user, who):
    meeting = ActivityFactory(
        community=cast.community,
        audience=AudienceKind.BRANCH,
        branch=cast.branch,
        category=Activity.Category.THREE_MEETINGS_ONE_LESSON,
    )
    answer = as_user(cast.users[who]).post(f"/api/v1/activities/{meeting.pk}/enrollment/")
    assert answer.status_code in (403, 404), answer.json()
    assert not Enrollment.objects.filter(activity=meeting).exists()
    assert as_user(cast.users["approved"]).post(f"/api/v1/activities/{meeting.pk}/enrollment/").status_code == 201


def test_points_go_only_to_the_approved_member(cast):
    for user in cast.outsiders:
        assert services.award_points(user=user, rule_code="party_day", source="activity:1") is None
    entry = services.award_points(user=cast.users["approved"], rule_code="party_day", source="activity:1")
    assert entry is not None
    assert set(PointsEntry.objects.values_list("user_id", flat=True)) == {cast.users["approved"].pk}


def test_ending_a_registration_leaves_its_posts(cast):
    post = PostFactory(community=cast.community)
    PostAssignment.objects.create(post=post, member=cast.member)
    services.revoke_registration(registration=cast.registrations["approved"], by=cast.staff, reason="已搬离")
    assert not PostAssignment.objects.filter(member=cast.member, left_at__isnull=True).exists()


# Lists and reports ----------------------------------------------------------------------------


def test_staff_member_list_holds_the_member_and_registrations_hold_everyone(cast, as_user):
    members = as_user(cast.staff).get(MEMBERS).json()
    assert [row["user"] for row in members["results"]] == [cast.users["approved"].pk]
    assert members["results"][0]["registration_status"] == "approved"
    registrations = as_user(cast.staff).get(REGISTRATIONS).json()
    assert {row["status"] for row in registrations["results"]} == {
        "approved",
        "pending",
        "rejected",
        "withdrawn",
        "revoked",
    }
    pending = as_user(cast.staff).get(REGISTRATIONS, {"status": "pending"}).json()
    assert [row["user"] for row in pending["results"]] == [cast.users["pending"].pk]


def test_the_branch_report_lists_only_the_approved_member(cast):
    assert [m.user_id for m in report_selectors.organization_members(cast.branch)] == [cast.users["approved"].pk]


def test_coverage_counts_only_the_approved_member(cast):
    coverage = report_selectors.coverage_by_community([cast.community.pk])[cast.community.pk]
    assert coverage.registered_members == 1
    # Known to live here: the approved member and the applicant; the refused and the ended are not.
    assert (coverage.member_registration.numerator, coverage.member_registration.denominator) == (1, 2)


# Revoking over HTTP ---------------------------------------------------------------------------


def test_staff_revoke_an_approved_registration(cast, as_user, captured_events, django_capture_on_commit_callbacks):
    registration = cast.registrations["approved"]
    with django_capture_on_commit_callbacks(execute=True):
        answer = as_user(cast.staff).post(f"{REGISTRATIONS}{registration.pk}/revoke/", {"reason": "已搬离本社区"})
    assert answer.status_code == 200, answer.json()
    body = answer.json()
    assert body["status"] == "revoked" and body["reason"] == "已搬离本社区"
    assert [(s["from_status"], s["to_status"]) for s in body["steps"]][-1] == ("approved", "revoked")
    assert PartyMember.objects.get(pk=cast.member.pk).organization_id is None
    assert [e[0] for e in captured_events] == ["registration.revoked"]
    assert as_user(cast.staff).get(MEMBERS).json()["results"] == []


def test_revoking_needs_a_reason_and_writes_nothing(cast, as_user):
    registration = cast.registrations["approved"]
    steps = RegistrationStep.objects.count()
    answer = as_user(cast.staff).post(f"{REGISTRATIONS}{registration.pk}/revoke/", {"reason": " "})
    assert answer.status_code == 400
    assert answer.json()["code"] == "validation_error" and "reason" in answer.json()["fields"]
    assert MemberRegistration.objects.get(pk=registration.pk).status == "approved"
    assert RegistrationStep.objects.count() == steps


@pytest.mark.parametrize("who", ["pending", "rejected", "withdrawn", "revoked"])
def test_only_an_approved_registration_can_be_revoked(cast, as_user, who):
    registration = cast.registrations[who]
    answer = as_user(cast.staff).post(f"{REGISTRATIONS}{registration.pk}/revoke/", {"reason": "已搬离"})
    assert answer.status_code == 409
    assert answer.json()["code"] == "invalid_transition"
    assert MemberRegistration.objects.get(pk=registration.pk).status == who


def test_another_communitys_staff_get_404_and_the_member_cannot_revoke(cast, as_user, other_community):
    registration = cast.registrations["approved"]
    other = as_user(factories.staff_of(other_community)).post(
        f"{REGISTRATIONS}{registration.pk}/revoke/", {"reason": "已搬离"}
    )
    assert other.status_code == 404
    own = as_user(cast.users["approved"]).post(f"{REGISTRATIONS}{registration.pk}/revoke/", {"reason": "已搬离"})
    assert own.status_code == 403
    assert MemberRegistration.objects.get(pk=registration.pk).status == "approved"


def test_the_registration_list_with_its_history_does_not_grow_in_queries(cast, as_user):
    client = as_user(cast.staff)
    client.get(REGISTRATIONS)
    with CaptureQueriesContext(connection) as few:
        client.get(REGISTRATIONS)
    for _ in range(3):
        apply(factories.UserFactory(), cast.community, cast.branch)
    with CaptureQueriesContext(connection) as more:
        client.get(REGISTRATIONS)
    assert len(more) == len(few)


# The console ----------------------------------------------------------------------------------


def test_the_console_member_list_shows_and_filters_the_state(cast, client):
    client.force_login(cast.staff)
    page = client.get("/admin/members/partymember/").content.decode()
    assert "报到状态" in page and "已报到" in page
    assert cast.member.real_name in page
    for name in ("pending", "rejected", "withdrawn", "revoked"):
        assert cast.users[name].real_name not in page
    filtered = client.get("/admin/members/partymember/", {"registration_status": "pending"}).content.decode()
    assert cast.member.real_name not in filtered


def test_the_console_revokes_with_a_reason(cast, client):
    client.force_login(cast.staff)
    registration = cast.registrations["approved"]
    asked = client.post(
        "/admin/members/memberregistration/", {"action": "revoke", "_selected_action": [registration.pk]}
    )
    assert asked.status_code == 200 and "注销原因" in asked.content.decode()
    assert MemberRegistration.objects.get(pk=registration.pk).status == "approved"
    done = client.post(
        "/admin/members/memberregistration/",
        {"action": "revoke", "_selected_action": [registration.pk], "apply": "1", "reason": "已搬离"},
    )
    assert done.status_code == 302
    assert MemberRegistration.objects.get(pk=registration.pk).status == "revoked"
    assert PartyMember.objects.get(pk=cast.member.pk).organization_id is None


def test_the_coverage_workbook_counts_only_the_approved_member(cast, as_user):
    from io import BytesIO

    from openpyxl import load_workbook

    answer = as_user(cast.staff).get(f"/api/v1/communities/{cast.community.pk}/coverage/export/")
    assert answer.status_code == 200
    sheet = load_workbook(BytesIO(answer.content)).active
    headers = [cell.value for cell in sheet[2]]
    row = dict(zip(headers, [cell.value for cell in sheet[3]], strict=True))
    assert (row["已知居住本社区的党员"], row["其中已在本社区报到"], row["在本社区报到的党员"]) == (2, 1, 1)


def test_the_branch_report_over_http_lists_only_the_approved_member(cast, as_user):
    answer = as_user(cast.staff).get("/api/v1/members/reports/", {"organization": cast.branch.pk, "period": "2026"})
    assert answer.status_code == 200, answer.json()
    users = [line["user_id"] for group in answer.json()["communities"] for line in group["members"]]
    assert users == [cast.users["approved"].pk]
