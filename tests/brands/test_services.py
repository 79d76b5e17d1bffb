"""The brand services called directly: the rules, the transitions, what they announce."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from backend.brands import services
from backend.brands.models import Brand, BrandDeadline, BrandDeadlineCommunity, BrandPlan, Honor
from backend.core.errors import DomainError
from tests import factories

from .factories import BrandFactory, HonorFactory, PlanFactory, deadline_for, document_upload, image_upload

pytestmark = pytest.mark.django_db


def _code(excinfo) -> str:
    return excinfo.value.code


# Brands -----------------------------------------------------------------------------------------


def test_create_brand_keeps_the_working_method_in_parts(community, secretary):
    logo = image_upload(secretary)
    brand = services.create_brand(
        by=secretary,
        community=community,
        name="岳阳楼下党旗红",
        slogan="传承红色基因",
        logo=logo,
        method_name="四议两公开",
        method_problem="居民议事难",
        method_steps=["  党支部提议 ", "", "两委商议", "党员大会审议"],
    )
    assert brand.status == Brand.Status.DRAFT
    assert brand.created_by == secretary
    assert brand.logo == logo
    assert brand.method_steps == ["党支部提议", "两委商议", "党员大会审议"]


def test_create_brand_refuses_another_communitys_staff_and_a_document_logo(community, other_staff, secretary):
    with pytest.raises(DomainError) as excinfo:
        services.create_brand(by=other_staff, community=community, name="越界")
    assert _code(excinfo) == "permission_denied"
    with pytest.raises(DomainError) as excinfo:
        services.create_brand(by=secretary, community=community, name="x", logo=document_upload(secretary))
    assert _code(excinfo) == "validation_error"
    assert "logo" in excinfo.value.fields
    assert not Brand.objects.exists()


def test_street_admin_edits_any_brand_of_the_street_but_not_another_streets(brand, street_admin, foreign_admin):
    services.update_brand(by=street_admin, brand=brand, slogan="岳阳楼下党旗红, 服务群众心连心")
    brand.refresh_from_db()
    assert brand.slogan == "岳阳楼下党旗红, 服务群众心连心"
    with pytest.raises(DomainError) as excinfo:
        services.update_brand(by=foreign_admin, brand=brand, slogan="x")
    assert _code(excinfo) == "permission_denied"


def test_publishing_retires_the_communitys_previous_brand(community, secretary):
    old = BrandFactory(community=community, active=True)
    new = BrandFactory(community=community)
    services.publish_brand(by=secretary, brand=new)
    old.refresh_from_db()
    new.refresh_from_db()
    assert (old.status, new.status) == (Brand.Status.RETIRED, Brand.Status.ACTIVE)
    assert old.retired_at is not None and new.published_at is not None


def test_brand_steps_that_do_not_apply_are_invalid_transitions(brand, secretary):
    with pytest.raises(DomainError) as excinfo:
        services.retire_brand(by=secretary, brand=brand)
    assert _code(excinfo) == "invalid_transition"
    services.publish_brand(by=secretary, brand=brand)
    with pytest.raises(DomainError) as excinfo:
        services.publish_brand(by=secretary, brand=brand)
    assert _code(excinfo) == "invalid_transition"
    with pytest.raises(DomainError) as excinfo:
        services.delete_brand(by=secretary, brand=brand)
    assert _code(excinfo) == "invalid_transition"
    services.retire_brand(by=secretary, brand=brand)
    with pytest.raises(DomainError) as excinfo:
        services.update_brand(by=secretary, brand=brand, name="改名")
    assert _code(excinfo) == "invalid_transition"


def test_a_draft_brand_with_a_submitted_plan_is_not_deleted(brand, secretary):
    PlanFactory(brand=brand, submitted=True)
    with pytest.raises(DomainError) as excinfo:
        services.delete_brand(by=secretary, brand=brand)
    assert _code(excinfo) == "invalid_transition"
    assert Brand.objects.filter(pk=brand.pk).exists()


def test_a_draft_brand_with_only_draft_plans_is_deleted(brand, secretary):
    PlanFactory(brand=brand)
    services.delete_brand(by=secretary, brand=brand)
    assert not Brand.objects.exists()
    assert not BrandPlan.objects.exists()


# Plans: the review flow -------------------------------------------------------------------------


def test_the_review_flow_and_what_it_announces(
    brand, secretary, staff, street_admin, captured_events, django_capture_on_commit_callbacks
):
    attachment = document_upload(secretary)
    with django_capture_on_commit_callbacks(execute=True):
        plan = services.create_plan(by=secretary, brand=brand, content="第一版", attachments=[attachment])
        assert (plan.version, plan.status, plan.year) == (1, "draft", timezone.localdate().year)
        assert list(plan.attachments.all()) == [attachment]
        services.submit_plan(by=staff, plan=plan)
        services.return_plan(by=street_admin, plan=plan, comments="  请补充工作法步骤 ")
    plan.refresh_from_db()
    assert plan.status == BrandPlan.Status.RETURNED
    assert plan.review_comments == "请补充工作法步骤"
    assert plan.reviewed_by == street_admin and plan.submitted_by == staff

    with django_capture_on_commit_callbacks(execute=True):
        second = services.create_plan(by=secretary, brand=brand, content="第二版")
        services.submit_plan(by=secretary, plan=second)
        services.approve_plan(by=street_admin, plan=second)
    second.refresh_from_db()
    assert (second.version, second.status) == (2, BrandPlan.Status.APPROVED)

    names = [name for name, _data, _audience in captured_events]
    assert names == ["brand_plan.submitted", "brand_plan.returned", "brand_plan.submitted", "brand_plan.approved"]
    submitted, returned = captured_events[0], captured_events[1]
    assert submitted[2].ids == (street_admin.pk,)
    assert set(returned[2].ids) == {secretary.pk, staff.pk}
    assert returned[1]["comments"] == "请补充工作法步骤"


@pytest.mark.parametrize(
    ("status", "step"),
    [
        ("draft", "approve"),
        ("draft", "return"),
        ("submitted", "submit"),
        ("approved", "submit"),
        ("approved", "approve"),
        ("approved", "return"),
        ("returned", "submit"),
        ("returned", "approve"),
        ("returned", "return"),
    ],
)
def test_each_invalid_review_step_is_refused_and_changes_nothing(
    brand, secretary, street_admin, status, step, captured_events
):
    traits = {"draft": {}, "submitted": {"submitted": True}, "approved": {"approved": True}}
    if status == "returned":
        plan = PlanFactory(brand=brand, approved=True, status=BrandPlan.Status.RETURNED)
    else:
        plan = PlanFactory(brand=brand, **traits[status])
    before = BrandPlan.objects.values().get(pk=plan.pk)
    call = {
        "submit": lambda: services.submit_plan(by=secretary, plan=plan),
        "approve": lambda: services.approve_plan(by=street_admin, plan=plan),
        "return": lambda: services.return_plan(by=street_admin, plan=plan, comments="改"),
    }[step]
    with pytest.raises(DomainError) as excinfo:
        call()
    assert _code(excinfo) == "invalid_transition"
    assert excinfo.value.status == 409
    assert BrandPlan.objects.values().get(pk=plan.pk) == before
    assert captured_events == []


def test_only_street_admins_review(brand, secretary, other_staff, foreign_admin):
    plan = PlanFactory(brand=brand, submitted=True)
    for actor in (secretary, other_staff, foreign_admin):
        with pytest.raises(DomainError) as excinfo:
            services.approve_plan(by=actor, plan=plan)
        assert _code(excinfo) == "permission_denied"
        with pytest.raises(DomainError) as excinfo:
            services.return_plan(by=actor, plan=plan, comments="改")
        assert _code(excinfo) == "permission_denied"
    plan.refresh_from_db()
    assert plan.status == BrandPlan.Status.SUBMITTED


def test_plans_are_written_by_the_communitys_own_staff(brand, street_admin, other_staff):
    for actor in (street_admin, other_staff):
        with pytest.raises(DomainError) as excinfo:
            services.create_plan(by=actor, brand=brand, content="代写")
        assert _code(excinfo) == "permission_denied"
    assert not BrandPlan.objects.exists()


def test_a_community_returning_its_own_plan_without_comments_hears_403(brand, secretary):
    plan = PlanFactory(brand=brand, submitted=True)
    with pytest.raises(DomainError) as excinfo:
        services.return_plan(by=secretary, plan=plan, comments="   ")
    assert _code(excinfo) == "permission_denied"
    plan.refresh_from_db()
    assert plan.status == BrandPlan.Status.SUBMITTED


def test_return_needs_comments(brand, street_admin):
    plan = PlanFactory(brand=brand, submitted=True)
    with pytest.raises(DomainError) as excinfo:
        services.return_plan(by=street_admin, plan=plan, comments="   ")
    assert _code(excinfo) == "validation_error"
    assert "comments" in excinfo.value.fields
    plan.refresh_from_db()
    assert plan.status == BrandPlan.Status.SUBMITTED


def test_one_version_in_the_works_at_a_time(brand, secretary):
    draft = services.create_plan(by=secretary, brand=brand, content="草稿")
    with pytest.raises(DomainError) as excinfo:
        services.create_plan(by=secretary, brand=brand, content="又一版")
    assert _code(excinfo) == "invalid_transition"
    services.submit_plan(by=secretary, plan=draft)
    with pytest.raises(DomainError) as excinfo:
        services.create_plan(by=secretary, brand=brand, content="又一版")
    assert _code(excinfo) == "invalid_transition"
    assert BrandPlan.objects.count() == 1


def test_only_drafts_are_edited_or_deleted(brand, secretary):
    plan = PlanFactory(brand=brand, submitted=True)
    with pytest.raises(DomainError) as excinfo:
        services.update_plan(by=secretary, plan=plan, content="改")
    assert _code(excinfo) == "invalid_transition"
    with pytest.raises(DomainError) as excinfo:
        services.delete_plan(by=secretary, plan=plan)
    assert _code(excinfo) == "invalid_transition"
    draft_brand = BrandFactory(community=brand.community)
    draft = PlanFactory(brand=draft_brand)
    services.update_plan(by=secretary, plan=draft, content="改好了", attachments=[document_upload(secretary)])
    draft.refresh_from_db()
    assert draft.content == "改好了" and draft.attachments.count() == 1
    services.delete_plan(by=secretary, plan=draft)
    assert not BrandPlan.objects.filter(pk=draft.pk).exists()


def test_a_retired_brand_takes_no_new_plan(community, secretary):
    brand = BrandFactory(community=community, status=Brand.Status.RETIRED)
    with pytest.raises(DomainError) as excinfo:
        services.create_plan(by=secretary, brand=brand, content="x")
    assert _code(excinfo) == "invalid_transition"


# Overdue, in Shanghai days ----------------------------------------------------------------------


def test_overdue_counts_shanghai_days(brand, clock):
    plan = PlanFactory(brand=brand)
    due = dt.date(2026, 7, 1)
    assert not services.is_overdue(plan=plan, due_date=due, today=dt.date(2026, 7, 1))
    assert services.is_overdue(plan=plan, due_date=due, today=dt.date(2026, 7, 2))
    # Handed in at 23:30 on 07-01 in Shanghai (15:30 UTC): on time.
    plan.submitted_at = dt.datetime(2026, 7, 1, 15, 30, tzinfo=dt.UTC)
    assert not services.is_overdue(plan=plan, due_date=due, today=dt.date(2026, 7, 5))
    # Handed in at 00:30 on 07-02 in Shanghai, still 07-01 in UTC: late.
    plan.submitted_at = dt.datetime(2026, 7, 1, 16, 30, tzinfo=dt.UTC)
    assert services.is_overdue(plan=plan, due_date=due, today=dt.date(2026, 7, 5))
    assert not services.is_overdue(plan=plan, due_date=None, today=dt.date(2026, 7, 5))


# Deadlines --------------------------------------------------------------------------------------


def test_deadlines_group_communities_and_one_per_community_a_year(street, community, other_community, street_admin):
    third = factories.CommunityFactory(street=street)
    july = services.create_deadline(
        by=street_admin,
        street=street,
        due_date=dt.date(2026, 7, 1),
        communities=[community, other_community],
        title="七一前",
    )
    assert set(july.communities.all()) == {community, other_community}
    assert set(BrandDeadlineCommunity.objects.values_list("year", flat=True)) == {2026}
    with pytest.raises(DomainError) as excinfo:
        services.create_deadline(
            by=street_admin, street=street, due_date=dt.date(2026, 10, 31), communities=[third, community]
        )
    assert _code(excinfo) == "validation_error"
    assert "communities" in excinfo.value.fields
    assert BrandDeadline.objects.count() == 1
    # Another year is another deadline.
    services.create_deadline(by=street_admin, street=street, due_date=dt.date(2027, 7, 1), communities=[community])
    october = services.create_deadline(
        by=street_admin, street=street, due_date=dt.date(2026, 10, 31), communities=[third]
    )
    # Moving a community between this year's deadlines: out of one first, then into the other.
    services.update_deadline(by=street_admin, deadline=july, communities=[community])
    services.update_deadline(by=street_admin, deadline=october, communities=[third, other_community])
    assert set(october.communities.all()) == {third, other_community}


def test_moving_a_deadline_to_another_year_moves_its_entries(street, community, street_admin):
    deadline = services.create_deadline(
        by=street_admin, street=street, due_date=dt.date(2026, 10, 31), communities=[community]
    )
    services.update_deadline(by=street_admin, deadline=deadline, due_date=dt.date(2027, 1, 15))
    assert list(deadline.entries.values_list("year", flat=True)) == [2027]


def test_deadline_rules(street, community, street_admin, secretary, foreign_admin):
    foreign_community = factories.CommunityFactory()
    with pytest.raises(DomainError) as excinfo:
        services.create_deadline(by=secretary, street=street, due_date=dt.date(2026, 7, 1), communities=[community])
    assert _code(excinfo) == "permission_denied"
    with pytest.raises(DomainError) as excinfo:
        services.create_deadline(by=foreign_admin, street=street, due_date=dt.date(2026, 7, 1), communities=[community])
    assert _code(excinfo) == "permission_denied"
    with pytest.raises(DomainError) as excinfo:
        services.create_deadline(
            by=street_admin, street=street, due_date=dt.date(2026, 7, 1), communities=[foreign_community]
        )
    assert excinfo.value.fields and "communities" in excinfo.value.fields
    with pytest.raises(DomainError) as excinfo:
        services.create_deadline(by=street_admin, street=street, due_date=dt.date(2026, 7, 1), communities=[])
    assert excinfo.value.fields and "communities" in excinfo.value.fields
    assert not BrandDeadline.objects.exists()


def test_a_plans_due_date_comes_from_its_communitys_deadline_of_its_year(brand, street, community, street_admin):
    from backend.brands import selectors

    year = timezone.localdate().year
    plan = PlanFactory(brand=brand, year=year)
    assert selectors.plan_with_due_date(plan).due_date is None
    deadline_for(street, [community], dt.date(year - 1, 10, 31))
    deadline_for(street, [community], dt.date(year, 7, 1))
    assert selectors.plan_with_due_date(plan).due_date == dt.date(year, 7, 1)


# Honours ----------------------------------------------------------------------------------------


def test_honors_go_to_exactly_one_brand_or_organization(brand, street, street_admin, foreign_admin):
    organization = factories.OrganizationFactory(community=brand.community)
    brand.status = Brand.Status.ACTIVE
    brand.save()
    honor = services.create_honor(
        by=street_admin,
        brand=brand,
        level=Honor.Level.MUNICIPAL,
        title="全市党建品牌",
        issuer="岳阳市委组织部",
        awarded_on=dt.date(2026, 7, 1),
    )
    assert honor.street == street
    for kwargs in ({}, {"brand": brand, "organization": organization}):
        with pytest.raises(DomainError) as excinfo:
            services.create_honor(
                by=street_admin, level="district", title="x", issuer="y", awarded_on=dt.date(2026, 1, 1), **kwargs
            )
        assert _code(excinfo) == "validation_error"
    with pytest.raises(DomainError) as excinfo:
        services.create_honor(
            by=foreign_admin,
            organization=organization,
            level="district",
            title="x",
            issuer="y",
            awarded_on=dt.date(2026, 1, 1),
        )
    assert _code(excinfo) == "permission_denied"
    updated = services.update_honor(by=street_admin, honor=honor, organization=organization)
    assert updated.brand is None and updated.organization == organization
    assert Honor.objects.count() == 1


def test_honor_refuses_a_draft_brand_and_a_future_date(brand, street_admin):
    with pytest.raises(DomainError) as excinfo:
        services.create_honor(
            by=street_admin, brand=brand, level="national", title="x", issuer="y", awarded_on=dt.date(2025, 1, 1)
        )
    assert "brand" in excinfo.value.fields
    organization = factories.OrganizationFactory(community=brand.community)
    with pytest.raises(DomainError) as excinfo:
        services.create_honor(
            by=street_admin,
            organization=organization,
            level="national",
            title="x",
            issuer="y",
            awarded_on=timezone.localdate() + dt.timedelta(days=1),
        )
    assert "awarded_on" in excinfo.value.fields
    assert not Honor.objects.exists()


def test_delete_honor_only_by_its_streets_admin(street_admin, foreign_admin, community):
    honor = HonorFactory(organization=factories.OrganizationFactory(community=community))
    with pytest.raises(DomainError):
        services.delete_honor(by=foreign_admin, honor=honor)
    services.delete_honor(by=street_admin, honor=honor)
    assert not Honor.objects.exists()
