"""Appeals through their services: the flow, each invalid step, deadlines, closing, filing rules and events."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.db import transaction

from backend.appeals import services
from backend.appeals.models import Appeal, AppealStep
from backend.core.errors import DomainError

pytestmark = pytest.mark.django_db

SHANGHAI = ZoneInfo("Asia/Shanghai")
Kind = AppealStep.Kind


def beijing(*args) -> datetime:
    return datetime(*args, tzinfo=SHANGHAI)


def kinds(appeal: Appeal) -> list[str]:
    return list(appeal.steps.order_by("at", "id").values_list("kind", flat=True))


def snapshot(appeal: Appeal) -> tuple:
    appeal.refresh_from_db()
    return (
        appeal.status,
        appeal.accepted_at,
        appeal.replied_at,
        appeal.resolved_at,
        appeal.rejected_at,
        appeal.rated_at,
        appeal.closed_at,
        appeal.assignee_id,
        appeal.score,
        appeal.steps.count(),
    )


# The flow ---------------------------------------------------------------------------------------


def test_the_whole_flow_stamps_who_and_when(town, file_appeal):
    t0 = beijing(2026, 5, 6, 9, 0)
    appeal = file_appeal(now=t0)
    assert appeal.status == Appeal.Status.SUBMITTED
    assert appeal.resident == town.resident and appeal.filed_by == town.resident
    assert appeal.grid == town.grid  # from the estate
    assert appeal.contact_phone == town.resident.phone

    services.accept(appeal=appeal, by=town.worker, now=t0 + timedelta(hours=1))
    services.reply(appeal=appeal, by=town.worker, content="已联系物业, 明天上午清理", now=t0 + timedelta(hours=2))
    services.reply(appeal=appeal, by=town.secretary, content="物业已安排人手", now=t0 + timedelta(hours=20))
    services.resolve(appeal=appeal, by=town.worker, content="杂物已清理完毕", now=t0 + timedelta(days=1))
    services.rate(appeal=appeal, by=town.resident, score=5, comment="很及时", now=t0 + timedelta(days=2))

    appeal.refresh_from_db()
    assert appeal.status == Appeal.Status.RATED
    assert appeal.accepted_at == t0 + timedelta(hours=1)
    assert appeal.replied_at == t0 + timedelta(hours=2)  # the first reply's time stays
    assert appeal.resolved_at == t0 + timedelta(days=1)
    assert appeal.rated_at == appeal.closed_at == t0 + timedelta(days=2)
    assert (appeal.score, appeal.comment) == (5, "很及时")
    assert not appeal.respond_overdue and not appeal.resolve_overdue
    steps = list(appeal.steps.order_by("at", "id"))
    assert [(s.kind, s.actor) for s in steps] == [
        (Kind.SUBMITTED, town.resident),
        (Kind.ACCEPTED, town.worker),
        (Kind.REPLIED, town.worker),
        (Kind.REPLIED, town.secretary),
        (Kind.RESOLVED, town.worker),
        (Kind.RATED, town.resident),
    ]
    assert steps[2].content == "已联系物业, 明天上午清理"
    assert steps[-1].content == "很及时"


def test_reject_needs_a_reason_and_ends_the_appeal(town, file_appeal):
    appeal = file_appeal()
    before = snapshot(appeal)
    with pytest.raises(DomainError) as blank:
        services.reject(appeal=appeal, by=town.secretary, reason="   ")
    assert blank.value.code == "validation_error" and "content" in blank.value.fields
    assert snapshot(appeal) == before

    services.reject(appeal=appeal, by=town.secretary, reason="属于市政管辖, 已告知拨打城管热线")
    appeal.refresh_from_db()
    assert appeal.status == Appeal.Status.REJECTED and appeal.rejected_at is not None
    assert appeal.steps.get(kind=Kind.REJECTED).content == "属于市政管辖, 已告知拨打城管热线"


def test_a_reply_needs_content(town, file_appeal):
    appeal = file_appeal()
    services.accept(appeal=appeal, by=town.worker)
    before = snapshot(appeal)
    with pytest.raises(DomainError) as exc:
        services.reply(appeal=appeal, by=town.worker, content="")
    assert exc.value.code == "validation_error" and "content" in exc.value.fields
    assert snapshot(appeal) == before


@pytest.mark.parametrize(
    "step",
    [
        lambda appeal, who: services.reject(appeal=appeal, by=who, reason=""),
        lambda appeal, who: services.reply(appeal=appeal, by=who, content=""),
    ],
    ids=["reject", "reply"],
)
def test_permission_is_checked_before_the_input(town, file_appeal, step):
    # The resident and another community's staff hear 403 even when the text is missing too.
    appeal = file_appeal()
    before = snapshot(appeal)
    for who in (town.resident, town.other_staff):
        with pytest.raises(DomainError) as exc:
            step(appeal, who)
        assert exc.value.code == "permission_denied"
    assert snapshot(appeal) == before


def test_someone_else_rating_out_of_range_hears_403_not_400(town, file_appeal):
    appeal = _bring_to("resolved", town, file_appeal)
    with pytest.raises(DomainError) as exc:
        services.rate(appeal=appeal, by=town.neighbour, score=9)
    assert exc.value.code == "permission_denied"
    assert Appeal.objects.get(pk=appeal.pk).status == Appeal.Status.RESOLVED


def _bring_to(state: str, town, file_appeal) -> Appeal:
    appeal = file_appeal()
    if state == "submitted":
        return appeal
    if state == "rejected":
        return services.reject(appeal=appeal, by=town.secretary, reason="不属于社区职责")
    appeal = services.accept(appeal=appeal, by=town.secretary)
    if state == "accepted":
        return appeal
    appeal = services.reply(appeal=appeal, by=town.secretary, content="正在处理")
    if state == "replied":
        return appeal
    appeal = services.resolve(appeal=appeal, by=town.secretary, content="已处理")
    if state == "resolved":
        return appeal
    if state == "rated":
        return services.rate(appeal=appeal, by=town.resident, score=4)
    assert state == "closed"
    services.close_unrated(now=appeal.resolved_at + timedelta(days=30))
    return appeal


def _take(step: str, appeal: Appeal, town) -> None:
    if step == "accept":
        services.accept(appeal=appeal, by=town.secretary)
    elif step == "reply":
        services.reply(appeal=appeal, by=town.secretary, content="答复")
    elif step == "resolve":
        services.resolve(appeal=appeal, by=town.secretary, content="结果")
    elif step == "reject":
        services.reject(appeal=appeal, by=town.secretary, reason="理由")
    elif step == "assign":
        services.assign(appeal=appeal, by=town.secretary, assignee=town.staff)
    elif step == "rate":
        services.rate(appeal=appeal, by=town.resident, score=5)


ALLOWED = {
    "submitted": {"accept", "reject", "assign"},
    "accepted": {"reply", "reject", "assign"},
    "replied": {"reply", "resolve", "assign"},
    "resolved": {"rate"},
    "rated": set(),
    "closed": set(),
    "rejected": set(),
}
STEPS = ["accept", "reply", "resolve", "reject", "assign", "rate"]
INVALID = [(state, step) for state, allowed in ALLOWED.items() for step in STEPS if step not in allowed]
VALID = [(state, step) for state, allowed in ALLOWED.items() for step in sorted(allowed)]


@pytest.mark.parametrize(("state", "step"), INVALID)
def test_each_invalid_step_is_refused_and_changes_nothing(
    town, file_appeal, captured_events, state, step, django_capture_on_commit_callbacks
):
    appeal = _bring_to(state, town, file_appeal)
    before = snapshot(appeal)
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(DomainError) as exc:
        _take(step, appeal, town)
    assert exc.value.code == "invalid_transition"
    assert exc.value.status == 409
    assert snapshot(appeal) == before
    assert captured_events == []


@pytest.mark.parametrize(("state", "step"), VALID)
def test_each_valid_step_is_taken(town, file_appeal, state, step):
    appeal = _bring_to(state, town, file_appeal)
    steps_before = appeal.steps.count()
    _take(step, appeal, town)
    assert appeal.steps.count() == steps_before + 1


# Who may take the steps -------------------------------------------------------------------------


def test_handlers_are_the_communitys_staff_the_grids_worker_and_the_street(town, file_appeal):
    for handler in (town.worker, town.staff, town.street_admin):
        appeal = file_appeal()
        services.accept(appeal=appeal, by=handler)
        assert appeal.steps.get(kind=Kind.ACCEPTED).actor == handler


@pytest.mark.parametrize("who", ["resident", "neighbour", "second_worker", "other_staff", "other_worker"])
def test_others_may_not_handle(town, file_appeal, who):
    appeal = file_appeal()
    before = snapshot(appeal)
    with pytest.raises(DomainError) as exc:
        services.accept(appeal=appeal, by=getattr(town, who))
    assert exc.value.code == "permission_denied"
    assert snapshot(appeal) == before


def test_assigning_to_a_worker_of_another_grid_lets_them_handle_it(
    town, file_appeal, captured_events, django_capture_on_commit_callbacks
):
    appeal = file_appeal()
    with django_capture_on_commit_callbacks(execute=True):
        services.assign(appeal=appeal, by=town.secretary, assignee=town.second_worker, content="请第二网格协助")
    appeal.refresh_from_db()
    assert appeal.assignee == town.second_worker
    step = appeal.steps.get(kind=Kind.ASSIGNED)
    assert (step.actor, step.assignee, step.content) == (town.secretary, town.second_worker, "请第二网格协助")
    assert captured_events[-1][0] == "appeal.updated"
    assert set(captured_events[-1][2].ids) == {town.resident.pk, town.second_worker.pk}

    services.accept(appeal=appeal, by=town.second_worker)
    assert Appeal.objects.get(pk=appeal.pk).status == Appeal.Status.ACCEPTED


@pytest.mark.parametrize("who", ["other_worker", "other_staff", "neighbour"])
def test_the_assignee_must_work_in_that_community(town, file_appeal, who):
    appeal = file_appeal()
    before = snapshot(appeal)
    with pytest.raises(DomainError) as exc:
        services.assign(appeal=appeal, by=town.secretary, assignee=getattr(town, who))
    assert exc.value.code == "validation_error" and "assignee" in exc.value.fields
    assert snapshot(appeal) == before


def test_a_revoked_worker_cannot_be_assigned(town, file_appeal):
    from django.utils import timezone

    town.second_worker.role_grants.update(revoked_at=timezone.now())
    with pytest.raises(DomainError) as exc:
        services.assign(appeal=file_appeal(), by=town.secretary, assignee=town.second_worker)
    assert exc.value.code == "validation_error"


@pytest.mark.parametrize("who", ["worker", "resident"])
def test_only_staff_assign(town, file_appeal, who):
    appeal = file_appeal()
    with pytest.raises(DomainError) as exc:
        services.assign(appeal=appeal, by=getattr(town, who), assignee=town.staff)
    assert exc.value.code == "permission_denied"
    assert Appeal.objects.get(pk=appeal.pk).assignee is None


def test_only_the_resident_rates(town, file_appeal):
    appeal = _bring_to("resolved", town, file_appeal)
    for who in (town.secretary, town.neighbour, town.worker):
        with pytest.raises(DomainError) as exc:
            services.rate(appeal=appeal, by=who, score=5)
        assert exc.value.code == "permission_denied"
    with pytest.raises(DomainError) as exc:
        services.rate(appeal=appeal, by=town.resident, score=6)
    assert exc.value.code == "validation_error" and "score" in exc.value.fields
    assert Appeal.objects.get(pk=appeal.pk).status == Appeal.Status.RESOLVED


def test_rating_before_resolution_is_an_invalid_transition(town, file_appeal):
    appeal = _bring_to("replied", town, file_appeal)
    with pytest.raises(DomainError) as exc:
        services.rate(appeal=appeal, by=town.resident, score=5)
    assert exc.value.code == "invalid_transition"


# Deadlines and overdue, in Beijing time ------------------------------------------------------------


@pytest.mark.parametrize(
    ("urgency", "respond", "resolve"),
    [
        ("urgent", beijing(2026, 4, 1, 1, 0), beijing(2026, 4, 1, 1, 0)),
        ("utilities", beijing(2026, 4, 1, 1, 0), beijing(2026, 4, 1, 23, 0)),
        ("general", beijing(2026, 4, 1, 23, 0), beijing(2026, 4, 7, 23, 0)),
        ("complex", beijing(2026, 4, 1, 23, 0), beijing(2026, 4, 15, 23, 0)),
    ],
)
def test_deadlines_by_urgency_from_submission(file_appeal, urgency, respond, resolve):
    # 23:00 on 31 March in Beijing is 15:00 UTC: the deadlines cross into April in Beijing time.
    appeal = file_appeal(urgency=urgency, now=datetime(2026, 3, 31, 15, 0, tzinfo=UTC))
    appeal.refresh_from_db()
    assert appeal.respond_due_at == respond
    assert appeal.resolve_due_at == resolve
    assert appeal.respond_due_at.astimezone(SHANGHAI).date().isoformat() == "2026-04-01"


def test_the_deadlines_come_from_settings(settings, file_appeal):
    settings.APPEAL_DEADLINES = {
        **settings.APPEAL_DEADLINES,
        "general": {"respond": timedelta(hours=4), "resolve": timedelta(days=3)},
    }
    t0 = beijing(2026, 6, 1, 10, 0)
    appeal = file_appeal(now=t0)
    assert appeal.respond_due_at == t0 + timedelta(hours=4)
    assert appeal.resolve_due_at == t0 + timedelta(days=3)


def test_overdue_is_flagged_across_midnight_in_beijing(
    town, file_appeal, captured_events, django_capture_on_commit_callbacks
):
    urgent = file_appeal(urgency="urgent", now=beijing(2026, 3, 31, 23, 0), content="单元门口燃气味很重")
    general = file_appeal(urgency="general", now=beijing(2026, 3, 31, 23, 0))

    # 00:59 on 1 April: the urgent appeal has one minute left.
    assert services.flag_overdue(now=beijing(2026, 4, 1, 0, 59)) == 0
    with django_capture_on_commit_callbacks(execute=True):
        assert services.flag_overdue(now=beijing(2026, 4, 1, 1, 1)) == 1
    urgent.refresh_from_db()
    assert urgent.respond_overdue and urgent.resolve_overdue
    general.refresh_from_db()
    assert not general.respond_overdue and not general.resolve_overdue
    event, data, audience = captured_events[-1]
    assert event == "appeal.overdue" and data["id"] == urgent.pk
    assert set(audience.ids) == {town.secretary.pk, town.staff.pk, town.worker.pk}

    # Safe to run twice: nothing new.
    assert services.flag_overdue(now=beijing(2026, 4, 1, 1, 6)) == 0

    # The general appeal misses its respond deadline at 23:00 on 1 April, not at UTC midnight.
    assert services.flag_overdue(now=beijing(2026, 4, 1, 22, 59)) == 0
    assert services.flag_overdue(now=beijing(2026, 4, 1, 23, 1)) == 1
    general.refresh_from_db()
    assert general.respond_overdue and not general.resolve_overdue


def test_accepted_appeals_are_flagged_only_for_resolution(town, file_appeal):
    appeal = file_appeal(urgency="utilities", now=beijing(2026, 1, 10, 22, 0))
    services.accept(appeal=appeal, by=town.worker, now=beijing(2026, 1, 10, 23, 0))
    assert services.flag_overdue(now=beijing(2026, 1, 11, 1, 0)) == 0
    assert services.flag_overdue(now=beijing(2026, 1, 11, 22, 1)) == 1
    appeal.refresh_from_db()
    assert not appeal.respond_overdue and appeal.resolve_overdue


def test_finished_appeals_are_never_flagged(town, file_appeal):
    t0 = beijing(2026, 2, 1, 8, 0)
    rejected = file_appeal(urgency="urgent", now=t0)
    services.reject(appeal=rejected, by=town.secretary, reason="重复诉求", now=t0 + timedelta(minutes=30))
    assert services.flag_overdue(now=t0 + timedelta(days=1)) == 0
    rejected.refresh_from_db()
    assert not rejected.respond_overdue and not rejected.resolve_overdue


def test_late_steps_flag_themselves_without_the_scheduler(town, file_appeal):
    t0 = beijing(2026, 3, 31, 23, 0)
    appeal = file_appeal(urgency="urgent", now=t0)
    services.accept(appeal=appeal, by=town.worker, now=t0 + timedelta(hours=2, seconds=1))
    services.reply(appeal=appeal, by=town.worker, content="维修人员已出发", now=t0 + timedelta(hours=2, minutes=5))
    services.resolve(appeal=appeal, by=town.worker, now=t0 + timedelta(hours=3))
    appeal.refresh_from_db()
    assert appeal.respond_overdue and appeal.resolve_overdue


def test_a_step_exactly_at_the_deadline_is_in_time(town, file_appeal):
    t0 = beijing(2026, 3, 31, 23, 0)
    appeal = file_appeal(urgency="urgent", now=t0)
    assert services.flag_overdue(now=t0 + timedelta(hours=2)) == 0
    services.accept(appeal=appeal, by=town.worker, now=t0 + timedelta(hours=2))
    appeal.refresh_from_db()
    assert not appeal.respond_overdue


# Closing unrated --------------------------------------------------------------------------------


def test_resolved_appeals_close_unrated_after_the_rating_window(
    town, file_appeal, captured_events, django_capture_on_commit_callbacks
):
    appeal = _bring_to("replied", town, file_appeal)
    resolved_at = beijing(2026, 7, 1, 18, 0)
    services.resolve(appeal=appeal, by=town.worker, now=resolved_at)
    rated = _bring_to("rated", town, file_appeal)

    assert services.close_unrated(now=resolved_at + timedelta(days=7) - timedelta(seconds=1)) == 0
    with django_capture_on_commit_callbacks(execute=True):
        assert services.close_unrated(now=resolved_at + timedelta(days=7)) == 1
    appeal.refresh_from_db()
    assert appeal.status == Appeal.Status.CLOSED
    assert appeal.closed_at == resolved_at + timedelta(days=7)
    assert appeal.score is None and appeal.rated_at is None
    closing = appeal.steps.get(kind=Kind.CLOSED)
    assert closing.actor is None
    assert captured_events[-1][0] == "appeal.updated" and captured_events[-1][1]["status"] == "closed"
    assert captured_events[-1][2].ids == (town.resident.pk,)

    # Safe to run twice; a rated appeal is left alone; a closed one can no longer be rated.
    assert services.close_unrated(now=resolved_at + timedelta(days=8)) == 0
    assert Appeal.objects.get(pk=rated.pk).status == Appeal.Status.RATED
    with pytest.raises(DomainError) as exc:
        services.rate(appeal=appeal, by=town.resident, score=5)
    assert exc.value.code == "invalid_transition"


def test_the_rating_window_comes_from_settings_and_bounds_rating(settings, town, file_appeal):
    settings.APPEAL_RATING_DAYS = 2
    appeal = _bring_to("replied", town, file_appeal)
    resolved_at = beijing(2026, 7, 1, 18, 0)
    services.resolve(appeal=appeal, by=town.worker, now=resolved_at)
    with pytest.raises(DomainError) as exc:
        services.rate(appeal=appeal, by=town.resident, score=5, now=resolved_at + timedelta(days=2, seconds=1))
    assert exc.value.code == "invalid_transition"
    assert services.close_unrated(now=resolved_at + timedelta(days=2)) == 1


# Filing -----------------------------------------------------------------------------------------


def test_a_retry_with_the_same_client_id_returns_the_first_appeal(town, file_appeal):
    client_id = uuid.uuid4()
    first, created = services.submit_appeal(
        by=town.resident, client_id=client_id, community=town.community, category="property", content="电梯故障"
    )
    again, created_again = services.submit_appeal(
        by=town.resident, client_id=client_id, community=town.community, category="property", content="电梯故障"
    )
    assert created and not created_again
    assert again.pk == first.pk
    assert Appeal.objects.count() == 1 and AppealStep.objects.count() == 1

    # The client id is the filer's own: someone else's identical id is another appeal.
    other, created_other = services.submit_appeal(
        by=town.neighbour, client_id=client_id, community=town.community, category="property", content="路灯不亮"
    )
    assert created_other and other.pk != first.pk


def test_a_reused_hotline_ticket_is_refused(town):
    def hotline(client_id, ticket):
        return services.submit_appeal(
            by=town.secretary,
            client_id=client_id,
            source="hotline",
            ticket_number=ticket,
            community=town.community,
            estate=town.estate,
            category="facilities",
            urgency="utilities",
            content="12345转办: 小区停水两天",
            contact_name="王女士",
            contact_phone="13812345678",
        )

    first_id = uuid.uuid4()
    first, _ = hotline(first_id, "YY2026040100123")
    with pytest.raises(DomainError) as exc:
        hotline(uuid.uuid4(), "YY2026040100123")
    assert exc.value.code == "duplicate_ticket" and exc.value.status == 409
    assert Appeal.objects.count() == 1 and AppealStep.objects.count() == 1
    # The same filing retried is not a reuse: it answers the first.
    again, created = hotline(first_id, "YY2026040100123")
    assert again.pk == first.pk and not created


def test_a_hotline_ticket_reaches_the_resident_holding_that_phone(town):
    appeal, _ = services.submit_appeal(
        by=town.staff,
        client_id=uuid.uuid4(),
        source="hotline",
        ticket_number="YY001",
        community=town.community,
        category="safety",
        content="消防通道被占",
        contact_phone=town.resident.phone,
    )
    assert appeal.resident == town.resident
    assert appeal.filed_by == town.staff
    assert appeal.grid is None and appeal.estate is None


def test_a_grid_worker_files_for_a_resident_in_their_grid(town):
    appeal, _ = services.submit_appeal(
        by=town.worker,
        client_id=uuid.uuid4(),
        source="grid_worker",
        community=town.community,
        place="菜市场后门",
        category="environment",
        content="垃圾清运不及时",
        contact_name="李大爷",
        contact_phone="0730-8888123",
    )
    assert appeal.grid == town.grid  # the worker's own grid, the place naming none
    assert appeal.resident is None
    assert appeal.contact_phone == "0730-8888123"


@pytest.mark.parametrize(
    ("who", "overrides", "code", "field"),
    [
        (
            "resident",
            {"source": "hotline", "ticket_number": "T1", "contact_phone": "13800000000"},
            "permission_denied",
            None,
        ),
        (
            "worker",
            {"source": "hotline", "ticket_number": "T1", "contact_phone": "13800000000"},
            "permission_denied",
            None,
        ),
        ("secretary", {"source": "hotline", "contact_phone": "13800000000"}, "validation_error", "ticket_number"),
        ("resident", {"ticket_number": "T1"}, "validation_error", "ticket_number"),
        ("resident", {"source": "grid_worker", "contact_phone": "13800000000"}, "permission_denied", None),
        ("other_worker", {"source": "grid_worker", "contact_phone": "13800000000"}, "permission_denied", None),
        ("worker", {"source": "grid_worker"}, "validation_error", "contact_phone"),
        ("resident", {"content": "  "}, "validation_error", "content"),
        ("resident", {"estate": "other_estate"}, "validation_error", "estate"),
    ],
)
def test_bad_filings_are_refused_and_write_nothing(town, who, overrides, code, field):
    kwargs = {
        "by": getattr(town, who),
        "client_id": uuid.uuid4(),
        "community": town.community,
        "category": "other",
        "content": "问题描述",
        **overrides,
    }
    if kwargs.get("estate") == "other_estate":
        kwargs["estate"] = town.other_estate
    with pytest.raises(DomainError) as exc:
        services.submit_appeal(**kwargs)
    assert exc.value.code == code
    if field:
        assert field in exc.value.fields
    assert Appeal.objects.count() == 0 and AppealStep.objects.count() == 0


# Events -----------------------------------------------------------------------------------------


def test_each_step_tells_the_resident_after_commit(
    town, file_appeal, captured_events, django_capture_on_commit_callbacks
):
    with captured_events(expected=2):
        appeal = file_appeal()
        assert captured_events == []  # nothing leaves before the commit
    assert [e for e, _d, _a in captured_events] == ["appeal.updated", "appeal.submitted"]
    updated, submitted = captured_events
    assert updated[1]["status"] == "submitted" and updated[1]["step"]["kind"] == "submitted"
    assert updated[2].kind == "users" and updated[2].ids == (town.resident.pk,)
    assert set(submitted[2].ids) == {town.secretary.pk, town.staff.pk, town.worker.pk}

    for take in (
        lambda: services.accept(appeal=appeal, by=town.worker),
        lambda: services.reply(appeal=appeal, by=town.worker, content="已派人查看"),
        lambda: services.resolve(appeal=appeal, by=town.worker, content="已处理"),
        lambda: services.rate(appeal=appeal, by=town.resident, score=4),
    ):
        captured_events.clear()
        with django_capture_on_commit_callbacks(execute=True):
            take()
        assert len(captured_events) == 1
        event, data, audience = captured_events[0]
        assert event == "appeal.updated" and data["id"] == appeal.pk
        assert audience.ids == (town.resident.pk,)
    assert captured_events[0][1]["status"] == "rated"


def test_a_rolled_back_step_sends_nothing(town, file_appeal, captured_events, django_capture_on_commit_callbacks):
    appeal = file_appeal()
    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        services.accept(appeal=appeal, by=town.worker)
        raise RuntimeError("the request failed later")
    assert callbacks == [] and captured_events == []
    assert Appeal.objects.get(pk=appeal.pk).status == Appeal.Status.SUBMITTED


def test_an_appeal_with_no_account_behind_it_tells_only_its_handlers(
    town, captured_events, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        appeal, _ = services.submit_appeal(
            by=town.secretary,
            client_id=uuid.uuid4(),
            source="hotline",
            ticket_number="YY-NOACCOUNT",
            community=town.community,
            category="policy",
            content="咨询养老补贴申请条件",
            contact_phone="13900001111",
        )
    assert [e for e, _d, _a in captured_events] == ["appeal.submitted"]
    captured_events.clear()
    with django_capture_on_commit_callbacks(execute=True):
        services.accept(appeal=appeal, by=town.secretary)
    assert captured_events == []
