"""积分: the append-only ledger, rules with yearly caps, the floor at zero, corrections and rankings."""

import pytest

from backend.core.errors import DomainError
from backend.members import services
from backend.members.models import PointsEntry, PointsRule
from tests import factories
from tests.members.factories import MemberFactory, registered_member

pytestmark = pytest.mark.django_db

POINTS = "/api/v1/members/points/"


@pytest.fixture
def member(community):
    return registered_member(community)


def award(member, source, code="party_day", **kwargs):
    return services.award_points(member=member, rule_code=code, source=source, **kwargs)


def test_default_rules_exist():
    assert {r.code: (r.points, r.yearly_cap) for r in PointsRule.objects.filter(street=None)} == {
        "three_meetings_one_lesson": (1, 48),
        "party_day": (2, 24),
        "party_lesson": (1, 12),
        "volunteer_hour": (1, 200),
        "demand_completed": (3, 60),
    }


def test_award_is_idempotent_per_member_rule_and_source(member):
    first = award(member, "activity:1", year=2026)
    again = award(member, "activity:1", year=2026)
    assert first.pk == again.pk
    assert (first.points, first.requested_points, first.year, first.rule_code) == (2, 2, 2026, "party_day")
    other_rule = award(member, "activity:1", code="three_meetings_one_lesson", year=2026)
    assert other_rule.pk != first.pk
    assert PointsEntry.objects.count() == 2
    by_user = services.award_points(user=member.user, rule_code="party_day", source="activity:1")
    assert by_user.pk == first.pk


def test_yearly_cap_gives_a_partial_award_then_nothing(member):
    PointsRule.objects.filter(code="party_day", street=None).update(points=2, yearly_cap=5)
    results = [award(member, f"activity:{i}", year=2026) for i in range(4)]
    assert [e.points if e else None for e in results] == [2, 2, 1, None]
    assert results[2].requested_points == 2 and results[2].clamped == 1
    assert sum(e.points for e in PointsEntry.objects.filter(year=2026)) == 5
    # A new calendar year starts afresh.
    assert award(member, "activity:9", year=2027).points == 2


def test_non_members_and_switched_off_or_unknown_rules_earn_nothing(member, resident):
    assert services.award_points(user=resident, rule_code="party_day", source="activity:1") is None
    assert award(member, "x:1", code="no_such_rule") is None
    PointsRule.objects.filter(code="party_day").update(is_active=False)
    assert award(member, "activity:1") is None
    assert not PointsEntry.objects.exists()
    with pytest.raises(ValueError):
        services.award_points(member=member, user=member.user, rule_code="party_day", source="s")


def test_a_street_rule_overrides_the_global_one_for_that_street(community, member):
    PointsRule.objects.create(
        code="party_day", name="主题党日(本街道)", points=5, yearly_cap=None, street=community.street
    )
    elsewhere = registered_member(factories.CommunityFactory())
    assert award(member, "activity:1").points == 5
    assert award(elsewhere, "activity:1").points == 2
    PointsRule.objects.create(code="volunteer_hour", name="停用", points=1, is_active=False, street=community.street)
    assert award(member, "record:1", code="volunteer_hour") is None
    assert award(elsewhere, "record:1", code="volunteer_hour").points == 1


def test_street_admin_edits_a_rule_in_the_console_and_the_next_award_changes(community, member, client):
    admin = factories.admin_of(community.street)
    assert award(member, "activity:1").points == 2
    client.force_login(admin)
    add = client.post(
        "/admin/members/pointsrule/add/",
        {
            "street": community.street_id,
            "code": "party_day",
            "name": "主题党日",
            "points": 4,
            "yearly_cap": 30,
            "is_active": "on",
        },
    )
    assert add.status_code == 302, add.content.decode()[:2000]
    assert award(member, "activity:2").points == 4

    rule = PointsRule.objects.get(code="party_day", street=community.street)
    change = client.post(
        f"/admin/members/pointsrule/{rule.pk}/change/",
        {
            "street": community.street_id,
            "code": "party_day",
            "name": "主题党日",
            "points": 6,
            "yearly_cap": 30,
            "is_active": "on",
        },
    )
    assert change.status_code == 302
    assert award(member, "activity:3").points == 6
    # Earlier entries stay as they were: the ledger is never rewritten.
    assert list(PointsEntry.objects.order_by("id").values_list("points", flat=True)) == [2, 4, 6]

    # The global default is the superusers'; another street's admin cannot see this street's rule.
    global_rule = PointsRule.objects.get(code="party_day", street=None)
    refused = client.post(
        f"/admin/members/pointsrule/{global_rule.pk}/change/",
        {"code": "party_day", "name": "改", "points": 9, "is_active": "on"},
    )
    assert refused.status_code == 403
    assert PointsRule.objects.get(pk=global_rule.pk).points == 2
    client.force_login(factories.admin_of(factories.StreetFactory()))
    assert client.get(f"/admin/members/pointsrule/{rule.pk}/change/").status_code == 302  # not found → index


def test_corrections_are_new_entries_and_the_total_never_goes_below_zero(community, member):
    secretary = factories.staff_of(community)
    award(member, "activity:1", year=2026)
    award(member, "activity:2", year=2026)
    deduction = services.correct_points(member=member, points=-10, reason="重复计分", by=secretary, year=2026)
    assert (deduction.points, deduction.requested_points, deduction.clamped) == (-4, -10, -6)
    assert deduction.kind == "correction" and deduction.created_by == secretary
    from backend.members import selectors

    assert selectors.points_total(member.user, year=2026) == 0
    again = services.correct_points(member=member, points=-3, reason="再扣", by=secretary, year=2026)
    assert again.points == 0 and again.requested_points == -3
    assert selectors.points_total(member.user, year=2026) == 0
    plus = services.correct_points(member=member, points=3, reason="补录", by=secretary, year=2026)
    assert plus.points == 3
    assert selectors.points_total(member.user, year=2026) == 3
    assert PointsEntry.objects.count() == 5


def test_a_negative_rule_is_floored_too(member):
    PointsRule.objects.create(code="absence", name="无故缺席", points=-3)
    award(member, "activity:1", year=2026)  # +2
    entry = award(member, "activity:5", code="absence", year=2026)
    assert (entry.points, entry.requested_points) == (-2, -3)


def test_correction_rules_on_input_and_scope(community, other_community, member):
    with pytest.raises(DomainError) as zero:
        services.correct_points(member=member, points=0, reason="x", by=None)
    assert zero.value.code == "validation_error"
    with pytest.raises(DomainError) as blank:
        services.correct_points(member=member, points=1, reason=" ", by=None)
    assert "reason" in blank.value.fields
    with pytest.raises(DomainError) as outsider:
        services.correct_points(member=member, points=1, reason="x", by=factories.staff_of(other_community))
    assert outsider.value.code == "permission_denied"
    # Whom it concerns comes before what is wrong with the input.
    with pytest.raises(DomainError) as outsider_blank:
        services.correct_points(member=member, points=0, reason=" ", by=factories.staff_of(other_community))
    assert outsider_blank.value.code == "permission_denied"
    assert not PointsEntry.objects.exists()


def test_ledger_entries_cannot_be_edited_or_deleted(member):
    entry = award(member, "activity:1")
    entry.points = 100
    with pytest.raises(ValueError):
        entry.save()
    with pytest.raises(ValueError):
        entry.delete()
    assert PointsEntry.objects.get().points == 2


def test_my_ledger_and_totals(member, as_user):
    award(member, "activity:1", year=2025)
    award(member, "activity:2", year=2026, code="three_meetings_one_lesson")
    award(member, "activity:3", year=2026)
    client = as_user(member.user)
    this_year = client.get(POINTS, {"year": 2026}).json()
    assert this_year["count"] == 2
    assert (this_year["year"], this_year["year_total"], this_year["total"]) == (2026, 3, 5)
    everything = client.get(POINTS).json()
    assert everything["count"] == 3 and everything["total"] == 5
    bad = client.get(POINTS, {"year": "soon"})
    assert bad.status_code == 400
    assert "year" in bad.json()["fields"]
    me = client.get("/api/v1/members/me/").json()
    assert me["points"]["total"] == 5
    assert as_user(factories.UserFactory()).get(POINTS).json()["count"] == 0


def test_corrections_endpoint(community, other_community, member, as_user):
    secretary = as_user(factories.staff_of(community))
    award(member, "activity:1")
    made = secretary.post(f"{POINTS}corrections/", {"member": member.id, "points": -5, "reason": "误记"})
    assert made.status_code == 201, made.json()
    assert (made.json()["points"], made.json()["requested_points"], made.json()["clamped"]) == (-2, -5, -3)
    outsider = as_user(factories.staff_of(other_community)).post(
        f"{POINTS}corrections/", {"member": member.id, "points": 1, "reason": "x"}
    )
    assert outsider.status_code == 400
    assert "member" in outsider.json()["fields"]
    resident = as_user(factories.UserFactory()).post(
        f"{POINTS}corrections/", {"member": member.id, "points": 1, "reason": "x"}
    )
    assert resident.status_code == 403
    missing_reason = secretary.post(f"{POINTS}corrections/", {"member": member.id, "points": 1})
    assert missing_reason.status_code == 400
    assert PointsEntry.objects.count() == 2


def test_ranking(community, other_community, as_user, resident):
    top, second, tied, idle = (registered_member(community) for _ in range(4))
    elsewhere = registered_member(other_community)
    for i in range(3):
        award(top, f"a:{i}", year=2026)
    award(second, "a:1", year=2026)
    award(tied, "a:1", year=2026)
    award(elsewhere, "a:1", year=2026)
    award(second, "old", year=2025)

    ranking = as_user(top.user).get(f"{POINTS}ranking/", {"year": 2026}).json()
    rows = [(r["id"], r["rank"], r["total"]) for r in ranking["results"]]
    assert rows == [(top.id, 1, 6), (second.id, 2, 2), (tied.id, 2, 2), (idle.id, 4, 0)]
    staff = as_user(factories.staff_of(community)).get(f"{POINTS}ranking/", {"community": community.id, "year": 2026})
    assert staff.status_code == 200 and staff.json()["count"] == 4
    assert "phone" not in staff.json()["results"][0]
    for outsider in (resident, elsewhere.user, factories.staff_of(other_community)):
        refused = as_user(outsider).get(f"{POINTS}ranking/", {"community": community.id})
        assert refused.status_code == 403
    no_community = as_user(resident).get(f"{POINTS}ranking/")
    assert no_community.status_code == 400
    assert "community" in no_community.json()["fields"]


def test_ranking_queries_do_not_grow(community, as_user, django_assert_max_num_queries):
    member = registered_member(community)
    client = as_user(member.user)
    award(member, "a:1")
    with django_assert_max_num_queries(8) as few:
        assert client.get(f"{POINTS}ranking/").status_code == 200
    for i in range(15):
        award(registered_member(community), f"a:{i}")
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert client.get(f"{POINTS}ranking/").json()["count"] == 16


def test_rules_endpoint_shows_what_applies(community, member, as_user):
    PointsRule.objects.create(code="party_day", name="主题党日(本街道)", points=5, street=community.street)
    rules = {r["code"]: r["points"] for r in as_user(member.user).get(f"{POINTS}rules/").json()}
    assert rules["party_day"] == 5 and rules["volunteer_hour"] == 1


def test_members_without_registration_use_their_organisations_street(street):
    organization = factories.OrganizationFactory(community=factories.CommunityFactory(street=street))
    member = MemberFactory(organization=organization)
    PointsRule.objects.create(code="party_day", name="本街道", points=7, street=street)
    assert award(member, "activity:1").points == 7


def test_ledger_queries_do_not_grow(member, as_user, django_assert_max_num_queries):
    client = as_user(member.user)
    award(member, "a:0")
    with django_assert_max_num_queries(8) as few:
        assert client.get(POINTS).status_code == 200
    for i in range(1, 16):
        award(member, f"a:{i}", code="volunteer_hour")
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert client.get(POINTS).json()["count"] == 16


def test_me_without_a_report_provider_shows_no_line(community, as_user, monkeypatch):
    # members never imports reports: with nothing registered, `me` still answers, with no line.
    from backend.members.registry import report_lines

    monkeypatch.setattr(report_lines, "_providers", {})
    member = MemberFactory()
    assert as_user(member.user).get("/api/v1/members/me/").json()["report"] is None


def test_members_me_reads_both_totals_in_one_statement(member, as_user):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from backend.members.selectors import current_year, points_total

    year = current_year()
    award(member, "activity:1", year=year - 1)
    award(member, "activity:2", year=year)
    client = as_user(member.user)
    with CaptureQueriesContext(connection) as queries:
        me = client.get("/api/v1/members/me/").json()
    assert (me["points"]["year_total"], me["points"]["total"]) == (
        points_total(member.user, year=year),
        points_total(member.user),
    )
    assert me["member"]["points_year"] == me["points"]["year_total"]
    table = PointsEntry._meta.db_table
    # The person with both totals (the member's `points_year` is the year's), and the year's 双报告
    # line, which sums the points recorded in the period.
    assert sum(table in q["sql"] for q in queries.captured_queries) == 2
