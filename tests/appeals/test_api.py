"""The appeals endpoints: happy paths, bad input that writes nothing, scope, masking and query counts."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from backend.accounts.models import PersonalDataAccess
from backend.appeals import services
from backend.appeals.models import Appeal, AppealStep
from backend.core.models import Upload
from tests.appeals.factories import AppealFactory

pytestmark = pytest.mark.django_db

LIST = "/api/v1/appeals/"


def detail(appeal) -> str:
    return f"/api/v1/appeals/{appeal.pk}/"


def image_upload(owner) -> Upload:
    return Upload.objects.create(
        owner=owner,
        kind=Upload.Kind.IMAGE,
        file=f"uploads/{uuid.uuid4().hex}.jpg",
        content_type="image/jpeg",
        size=2048,
        width=640,
        height=480,
        sha256="0" * 64,
        original_name="楼道.jpg",
    )


def body(town, **overrides) -> dict:
    data = {
        "client_id": str(uuid.uuid4()),
        "community": town.community.pk,
        "estate": town.estate.pk,
        "category": "environment",
        "content": "3栋楼道堆放杂物, 影响通行",
    }
    data.update(overrides)
    return data


def nothing_written() -> bool:
    return not Appeal.objects.exists() and not AppealStep.objects.exists()


# Filing -----------------------------------------------------------------------------------------


def test_a_resident_files_an_appeal(town, as_user):
    photo = image_upload(town.resident)
    response = as_user(town.resident).post(LIST, body(town, urgency="urgent", photos=[photo.pk]), format="json")
    assert response.status_code == 201, response.json()
    data = response.json()
    appeal = Appeal.objects.get()
    assert data["id"] == appeal.pk
    assert data["status"] == "submitted" and data["source"] == "app"
    assert data["urgency"] == "urgent" and data["category"] == "environment"
    assert data["community"] == town.community.pk and data["estate"] == town.estate.pk
    assert data["grid"] == town.grid.pk and data["estate_name"] == "东湖雅苑"
    assert data["photos"] == [photo.pk]
    assert data["photo_files"][0]["url"].startswith("http")
    assert data["contact_phone"] == town.resident.phone  # the filer sees their own
    assert data["is_mine"] is True
    assert [s["kind"] for s in data["steps"]] == ["submitted"]
    submitted = timezone.localtime(appeal.submitted_at)
    assert data["respond_due_at"] == (submitted + timedelta(hours=2)).isoformat()
    assert data["respond_due_at"].endswith("+08:00")


def test_the_urgency_defaults_to_general(town, as_user):
    response = as_user(town.resident).post(LIST, body(town), format="json")
    assert response.status_code == 201
    assert response.json()["urgency"] == "general"


def test_a_retry_with_the_same_client_id_answers_200_with_the_first(town, as_user):
    client = as_user(town.resident)
    payload = body(town)
    first = client.post(LIST, payload, format="json")
    again = client.post(LIST, payload, format="json")
    assert first.status_code == 201 and again.status_code == 200
    assert again.json() == first.json()
    assert Appeal.objects.count() == 1 and AppealStep.objects.count() == 1


def test_staff_register_a_hotline_ticket_and_a_reused_ticket_is_409(town, as_user):
    client = as_user(town.staff)
    payload = body(
        town,
        source="hotline",
        ticket_number="YY2026040100123",
        urgency="utilities",
        contact_name="王女士",
        contact_phone=town.resident.phone,
    )
    first = client.post(LIST, payload, format="json")
    assert first.status_code == 201, first.json()
    assert first.json()["ticket_number"] == "YY2026040100123"
    reused = client.post(LIST, {**payload, "client_id": str(uuid.uuid4())}, format="json")
    assert reused.status_code == 409
    assert reused.json()["code"] == "duplicate_ticket"
    assert Appeal.objects.count() == 1
    # The resident holding that phone sees it in the app.
    mine = as_user(town.resident).get(LIST).json()
    assert [a["id"] for a in mine["results"]] == [first.json()["id"]]


def test_a_grid_worker_files_for_a_resident(town, as_user):
    response = as_user(town.worker).post(
        LIST,
        body(town, estate=None, place="菜市场后门", source="grid_worker", contact_phone="0730-8888123"),
        format="json",
    )
    assert response.status_code == 201, response.json()
    assert response.json()["grid"] == town.grid.pk


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"client_id": None}, "client_id"),
        ({"client_id": "not-a-uuid"}, "client_id"),
        ({"category": "noise"}, "category"),
        ({"urgency": "whenever"}, "urgency"),
        ({"content": ""}, "content"),
        ({"content": "   "}, "content"),
        ({"content": "长" * 2001}, "content"),
        ({"community": 999999}, "community"),
        ({"community": None}, "community"),
        ({"estate": 999999}, "estate"),
        ({"estate": "other_estate"}, "estate"),
        ({"photos": [999999]}, "photos"),
        ({"photos": "someone_elses"}, "photos"),
        ({"photos": "a_document"}, "photos"),
        ({"photos": "ten"}, "photos"),
        ({"contact_phone": "call me"}, "contact_phone"),
        # Thirteen digits and a bare 12345 cannot be dialled back; only a mobile or an area-coded landline.
        ({"contact_phone": "1380000000012"}, "contact_phone"),
        ({"contact_phone": "12345"}, "contact_phone"),
        ({"source": "fax"}, "source"),
        ({"ticket_number": "YY1"}, "ticket_number"),
        ({"place": "地" * 201}, "place"),
    ],
)
def test_bad_input_is_400_and_writes_nothing(town, as_user, overrides, field):
    payload = body(town)
    for key, value in overrides.items():
        if value is None:
            payload.pop(key)
        elif value == "other_estate":
            payload[key] = town.other_estate.pk
        elif value == "someone_elses":
            payload[key] = [image_upload(town.neighbour).pk]
        elif value == "a_document":
            doc = image_upload(town.resident)
            Upload.objects.filter(pk=doc.pk).update(kind=Upload.Kind.DOCUMENT)
            payload[key] = [doc.pk]
        elif value == "ten":
            payload[key] = [image_upload(town.resident).pk for _ in range(10)]
        else:
            payload[key] = value
    response = as_user(town.resident).post(LIST, payload, format="json")
    assert response.status_code == 400, response.json()
    data = response.json()
    assert data["code"] == "validation_error"
    assert field in data["fields"]
    assert nothing_written()


def test_a_resident_cannot_register_hotline_tickets(town, as_user):
    response = as_user(town.resident).post(
        LIST, body(town, source="hotline", ticket_number="YY9", contact_phone="13800000000"), format="json"
    )
    assert response.status_code == 403
    assert response.json()["code"] == "permission_denied"
    assert nothing_written()


def test_anonymous_callers_are_refused(town, api):
    assert api.post(LIST, body(town), format="json").status_code == 401
    assert api.get(LIST).status_code == 401
    assert nothing_written()


# Seeing ----------------------------------------------------------------------------------------


@pytest.fixture
def spread(town):
    """One appeal in each corner of the map."""
    return {
        "mine": AppealFactory(community=town.community, grid=town.grid, estate=town.estate, resident=town.resident),
        "neighbours": AppealFactory(community=town.community, grid=town.grid, resident=town.neighbour),
        "second_grid": AppealFactory(community=town.community, grid=town.second_grid),
        "no_grid": AppealFactory(community=town.community, grid=None),
        "other_community": AppealFactory(community=town.other_community, grid=town.other_grid),
    }


@pytest.mark.parametrize(
    ("who", "sees"),
    [
        ("resident", {"mine"}),
        ("neighbour", {"neighbours"}),
        ("worker", {"mine", "neighbours"}),
        ("second_worker", {"second_grid"}),
        ("secretary", {"mine", "neighbours", "second_grid", "no_grid"}),
        ("staff", {"mine", "neighbours", "second_grid", "no_grid"}),
        ("street_admin", {"mine", "neighbours", "second_grid", "no_grid", "other_community"}),
        ("other_staff", {"other_community"}),
        ("other_worker", {"other_community"}),
    ],
)
def test_each_sees_only_their_own_or_their_scope(town, spread, as_user, who, sees):
    response = as_user(getattr(town, who)).get(LIST)
    assert response.status_code == 200
    ids = {a["id"] for a in response.json()["results"]}
    assert ids == {spread[name].pk for name in sees}
    for name, appeal in spread.items():
        expected = 200 if name in sees else 404
        got = as_user(getattr(town, who)).get(detail(appeal))
        assert got.status_code == expected, (who, name)
        if expected == 404:
            assert got.json()["code"] == "not_found"


def test_an_assignee_sees_what_they_were_given(town, spread, as_user):
    services.assign(appeal=spread["no_grid"], by=town.secretary, assignee=town.second_worker)
    ids = {a["id"] for a in as_user(town.second_worker).get(LIST).json()["results"]}
    assert ids == {spread["second_grid"].pk, spread["no_grid"].pk}


def test_the_detail_has_every_step(town, file_appeal, as_user):
    appeal = file_appeal()
    services.accept(appeal=appeal, by=town.worker, content="收到")
    services.reply(appeal=appeal, by=town.worker, content="物业明早处理")
    data = as_user(town.resident).get(detail(appeal)).json()
    assert [(s["kind"], s["actor"]["id"], s["content"]) for s in data["steps"]] == [
        ("submitted", town.resident.pk, "3栋楼道堆放杂物, 影响通行"),
        ("accepted", town.worker.pk, "收到"),
        ("replied", town.worker.pk, "物业明早处理"),
    ]
    assert data["status"] == "replied"


def test_the_residents_phone_is_masked_in_staff_lists(town, file_appeal, as_user):
    appeal = file_appeal()
    phone = town.resident.phone
    masked = f"{phone[:3]}****{phone[-4:]}"
    for who in (town.secretary, town.worker, town.street_admin):
        row = as_user(who).get(LIST).json()["results"][0]
        assert row["contact_phone"] == masked
        assert phone not in str(row)
    # The resident sees their own in full.
    assert as_user(town.resident).get(LIST).json()["results"][0]["contact_phone"] == phone
    # Each handler's list page is recorded (the resident's name is on it), the resident's own is not.
    listed = PersonalDataAccess.objects.filter(path=LIST)
    assert {(a.actor, a.subject, a.object_id) for a in listed} == {
        (who, town.resident, appeal.pk) for who in (town.secretary, town.worker, town.street_admin)
    }
    # Opening the one appeal shows the number to call back, and that read is recorded.
    opened = as_user(town.secretary).get(detail(appeal)).json()
    assert opened["contact_phone"] == phone
    access = PersonalDataAccess.objects.get(path=detail(appeal))
    assert (access.actor, access.subject, access.what, access.object_id) == (
        town.secretary,
        town.resident,
        "appeal",
        appeal.pk,
    )
    # The resident's own reads are not.
    as_user(town.resident).get(detail(appeal))
    assert PersonalDataAccess.objects.count() == 4


def test_step_answers_keep_the_phone_masked_for_staff(town, file_appeal, as_user):
    appeal = file_appeal()
    data = as_user(town.worker).post(f"{detail(appeal)}accept/", {}, format="json").json()
    assert data["contact_phone"] != town.resident.phone


def test_lists_filter_by_status_and_search(town, file_appeal, as_user):
    first = file_appeal(content="路灯不亮")
    file_appeal(content="楼道堆物")
    services.accept(appeal=first, by=town.secretary)
    client = as_user(town.secretary)
    assert [a["id"] for a in client.get(f"{LIST}?status=accepted").json()["results"]] == [first.pk]
    assert [a["id"] for a in client.get(f"{LIST}?search=路灯").json()["results"]] == [first.pk]


def test_list_queries_do_not_grow_with_rows(town, as_user):
    client = as_user(town.secretary)

    def add(n: int) -> None:
        for _ in range(n):
            # Filed ten days ago, so each is also on the overdue list.
            appeal, _ = services.submit_appeal(
                now=timezone.now() - timedelta(days=10),
                by=town.resident,
                client_id=uuid.uuid4(),
                community=town.community,
                estate=town.estate,
                category="facilities",
                content="电梯异响",
                photos=[image_upload(town.resident), image_upload(town.resident)],
            )
            services.accept(appeal=appeal, by=town.worker)
            services.reply(appeal=appeal, by=town.worker, content="已报修")
            services.assign(appeal=appeal, by=town.secretary, assignee=town.staff)

    def count(path: str) -> int:
        with CaptureQueriesContext(connection) as queries:
            assert client.get(path).status_code == 200
        return len(queries)

    add(2)
    assert client.get(f"{LIST}overdue/").json()["count"] == 2
    few = count(LIST), count(f"{LIST}overdue/")
    add(8)
    assert (count(LIST), count(f"{LIST}overdue/")) == few


# The workflow over HTTP -----------------------------------------------------------------------------


def test_the_flow_over_http(town, file_appeal, as_user, captured_events, django_capture_on_commit_callbacks):
    appeal = file_appeal()
    worker, resident = as_user(town.worker), as_user(town.resident)
    url = detail(appeal)
    with django_capture_on_commit_callbacks(execute=True):
        response = worker.post(f"{url}accept/", {}, format="json")
    assert response.status_code == 200 and response.json()["status"] == "accepted"
    assert captured_events[-1][0] == "appeal.updated" and captured_events[-1][2].ids == (town.resident.pk,)

    response = worker.post(f"{url}reply/", {"content": "已联系物业"}, format="json")
    assert response.status_code == 200 and response.json()["status"] == "replied"
    response = worker.post(f"{url}resolve/", {"content": "已清理"}, format="json")
    assert response.status_code == 200 and response.json()["status"] == "resolved"
    response = resident.post(f"{url}rate/", {"score": 5, "comment": "满意"}, format="json")
    assert response.status_code == 200
    data = response.json()
    assert (data["status"], data["score"], data["comment"]) == ("rated", 5, "满意")
    assert [s["kind"] for s in data["steps"]] == ["submitted", "accepted", "replied", "resolved", "rated"]


def test_reject_over_http_needs_a_reason(town, file_appeal, as_user):
    appeal = file_appeal()
    client = as_user(town.secretary)
    refused = client.post(f"{detail(appeal)}reject/", {}, format="json")
    assert refused.status_code == 400
    assert refused.json()["code"] == "validation_error" and "content" in refused.json()["fields"]
    assert Appeal.objects.get(pk=appeal.pk).status == "submitted"
    done = client.post(f"{detail(appeal)}reject/", {"content": "不属于社区职责, 已告知转市场监管"}, format="json")
    assert done.status_code == 200 and done.json()["status"] == "rejected"


def test_assign_over_http(town, file_appeal, as_user):
    appeal = file_appeal()
    client = as_user(town.secretary)
    response = client.post(
        f"{detail(appeal)}assign/", {"assignee": town.second_worker.pk, "content": "请协助"}, format="json"
    )
    assert response.status_code == 200
    assert response.json()["assignee"] == {"id": town.second_worker.pk, "real_name": town.second_worker.real_name}
    wrong = client.post(f"{detail(appeal)}assign/", {"assignee": town.other_worker.pk}, format="json")
    assert wrong.status_code == 400 and "assignee" in wrong.json()["fields"]
    missing = client.post(f"{detail(appeal)}assign/", {"assignee": 999999}, format="json")
    assert missing.status_code == 400 and "assignee" in missing.json()["fields"]
    assert Appeal.objects.get(pk=appeal.pk).assignee == town.second_worker
    by_worker = as_user(town.worker).post(f"{detail(appeal)}assign/", {"assignee": town.staff.pk}, format="json")
    assert by_worker.status_code == 403 and by_worker.json()["code"] == "permission_denied"


def test_invalid_steps_over_http_are_409(town, file_appeal, as_user):
    appeal = file_appeal()
    worker = as_user(town.worker)
    for step, payload in (("reply", {"content": "x"}), ("resolve", {})):
        response = worker.post(f"{detail(appeal)}{step}/", payload, format="json")
        assert response.status_code == 409
        assert response.json()["code"] == "invalid_transition"
    early = as_user(town.resident).post(f"{detail(appeal)}rate/", {"score": 5}, format="json")
    assert early.status_code == 409 and early.json()["code"] == "invalid_transition"
    assert AppealStep.objects.filter(appeal=appeal).count() == 1


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({}, "score"),
        ({"score": 0}, "score"),
        ({"score": 6}, "score"),
        ({"score": "five"}, "score"),
        ({"score": 4, "comment": "长" * 501}, "comment"),
    ],
)
def test_bad_ratings_are_400(town, file_appeal, as_user, payload, field):
    appeal = file_appeal()
    services.accept(appeal=appeal, by=town.secretary)
    services.reply(appeal=appeal, by=town.secretary, content="处理中")
    services.resolve(appeal=appeal, by=town.secretary)
    response = as_user(town.resident).post(f"{detail(appeal)}rate/", payload, format="json")
    assert response.status_code == 400
    assert response.json()["code"] == "validation_error" and field in response.json()["fields"]
    assert Appeal.objects.get(pk=appeal.pk).status == "resolved"


@pytest.mark.parametrize("step", ["accept", "reply", "resolve", "reject", "assign", "rate"])
def test_out_of_scope_callers_get_404_and_change_nothing(town, file_appeal, as_user, step):
    appeal = file_appeal()
    before = (Appeal.objects.get(pk=appeal.pk).status, AppealStep.objects.count())
    payload = {"content": "x", "assignee": town.other_staff.pk, "score": 5}
    for outsider in (town.other_staff, town.other_worker, town.neighbour, town.second_worker):
        response = as_user(outsider).post(f"{detail(appeal)}{step}/", payload, format="json")
        assert response.status_code == 404, (outsider, step)
        assert response.json()["code"] == "not_found"
    assert (Appeal.objects.get(pk=appeal.pk).status, AppealStep.objects.count()) == before


def test_the_resident_may_not_handle_their_own(town, file_appeal, as_user):
    appeal = file_appeal()
    response = as_user(town.resident).post(f"{detail(appeal)}accept/", {}, format="json")
    assert response.status_code == 403 and response.json()["code"] == "permission_denied"
    staff_rating = as_user(town.secretary).post(f"{detail(appeal)}rate/", {"score": 5}, format="json")
    assert staff_rating.status_code == 403
    assert Appeal.objects.get(pk=appeal.pk).status == "submitted"


# The overdue list -----------------------------------------------------------------------------------


def test_the_overdue_list(town, as_user):
    now = timezone.now()
    late_response = AppealFactory(
        community=town.community, grid=town.grid, urgency="urgent", submitted_at=now - timedelta(hours=3)
    )
    late_resolution = AppealFactory(
        community=town.community,
        grid=town.second_grid,
        status="replied",
        submitted_at=now - timedelta(days=8),
        accepted_at=now - timedelta(days=8),
        replied_at=now - timedelta(days=7),
    )
    AppealFactory(community=town.community, grid=town.grid, submitted_at=now - timedelta(hours=3))  # in time
    AppealFactory(  # finished late: no longer on the list
        community=town.community,
        status="resolved",
        submitted_at=now - timedelta(days=9),
        accepted_at=now - timedelta(days=9),
        resolved_at=now - timedelta(days=1),
    )
    AppealFactory(community=town.other_community, urgency="urgent", submitted_at=now - timedelta(hours=3))

    ids = [a["id"] for a in as_user(town.secretary).get(f"{LIST}overdue/").json()["results"]]
    assert ids == [late_resolution.pk, late_response.pk]  # the longest overdue first
    ids = [a["id"] for a in as_user(town.worker).get(f"{LIST}overdue/").json()["results"]]
    assert ids == [late_response.pk]
    refused = as_user(town.resident).get(f"{LIST}overdue/")
    assert refused.status_code == 403 and refused.json()["code"] == "permission_denied"


def test_workflow_denials_come_before_the_bodys_errors(town, as_user):
    # Authorization before validation: a resident taking a handler's step, or a handler rating,
    # hears 403 whatever the body holds, never what is wrong with it.
    appeal = AppealFactory(community=town.community, grid=town.grid, resident=town.resident)
    steps = AppealStep.objects.filter(appeal=appeal).count()
    for step in ("accept", "reply", "resolve", "reject"):
        response = as_user(town.resident).post(
            f"/api/v1/appeals/{appeal.pk}/{step}/", {"content": ["x"]}, format="json"
        )
        assert response.status_code == 403, (step, response.content)
    for body in ({}, {"score": "five", "comment": ["x"]}):
        response = as_user(town.secretary).post(f"/api/v1/appeals/{appeal.pk}/rate/", body, format="json")
        assert response.status_code == 403, response.content
    appeal.refresh_from_db()
    assert appeal.status == Appeal.Status.SUBMITTED
    assert AppealStep.objects.filter(appeal=appeal).count() == steps
