"""Appeals and content checks: only their handlers read them, so they are checked and flagged for
those handlers, never held from them; the resident sees no flag."""

from __future__ import annotations

import uuid

import pytest
from django.urls import reverse

from backend.appeals import services
from backend.appeals.models import Appeal
from backend.core.models import ContentCheck
from backend.notices.models import NoticeReceipt
from devtools.fake_wechat import REVIEW_MARKER, RISKY_MARKER
from tests.core.moderation_helpers import checks_of, image, push_all, with_openid

pytestmark = pytest.mark.django_db

LIST = "/api/v1/appeals/"
Status = ContentCheck.Status


def payload(town, **extra) -> dict:
    return {
        "client_id": str(uuid.uuid4()),
        "community": town.community.pk,
        "estate": town.estate.pk,
        "category": "environment",
        "content": "3栋楼道堆放杂物",
        **extra,
    }


def flags(client) -> dict[int, str | None]:
    return {row["id"]: row["content_flag"] for row in client.get(LIST).json()["results"]}


def test_a_risky_appeal_reaches_its_handlers_flagged(content_checks, town, as_user, django_capture_on_commit_callbacks):
    resident = with_openid(town.resident, "hu")
    with django_capture_on_commit_callbacks(execute=True):
        response = as_user(resident).post(LIST, payload(town, content=f"投诉{RISKY_MARKER}"), format="json")
    assert response.status_code == 201
    appeal_id = response.json()["id"]
    for handler in (town.secretary, town.staff, town.street_admin):
        assert flags(as_user(handler)) == {appeal_id: "rejected"}
        detail = as_user(handler).get(f"{LIST}{appeal_id}/").json()
        assert detail["content"] == f"投诉{RISKY_MARKER}" and detail["content_flag"] == "rejected"
    assert flags(as_user(resident)) == {appeal_id: None}
    # Nothing was hidden, so nobody is told anything was.
    assert not NoticeReceipt.objects.filter(user=resident).exists()
    (check,) = checks_of(Appeal.objects.get(pk=appeal_id))
    assert (check.holds, check.status, check.suggest) == (False, Status.REJECTED, "risky")


def test_the_console_list_flags_it_for_the_handlers(content_checks, client, town, django_capture_on_commit_callbacks):
    resident = with_openid(town.resident, "hu")
    with django_capture_on_commit_callbacks(execute=True):
        risky, _ = services.submit_appeal(
            by=resident, client_id=uuid.uuid4(), community=town.community, category="other", content=RISKY_MARKER
        )
        services.submit_appeal(
            by=resident, client_id=uuid.uuid4(), community=town.community, category="other", content="路面破损"
        )
    client.force_login(town.secretary)
    page = client.get(reverse("admin:appeals_appeal_changelist"))
    assert page.status_code == 200
    flags_shown = {row.pk: row.content_review for row in page.context["cl"].result_list}
    assert flags_shown[risky.pk] == "rejected" and sorted(flags_shown.values(), key=str) == [None, "rejected"]
    assert page.content.decode().count("微信判定违规") == 1


def test_a_clean_appeal_carries_no_flag_and_its_photos_are_checked_too(
    content_checks, api, town, as_user, django_capture_on_commit_callbacks
):
    resident = with_openid(town.resident, "hu")
    photo = image(resident, f"{REVIEW_MARKER}.jpg")
    with django_capture_on_commit_callbacks(execute=True):
        response = as_user(resident).post(LIST, payload(town, photos=[photo.pk]), format="json")
    appeal_id = response.json()["id"]
    assert flags(as_user(town.secretary)) == {appeal_id: "pending"}
    with django_capture_on_commit_callbacks(execute=True):
        assert push_all(api, content_checks) == [200]
    assert flags(as_user(town.secretary)) == {appeal_id: "review"}
    assert [c.status for c in checks_of(Appeal.objects.get(pk=appeal_id))] == [Status.PASSED, Status.REVIEW]


def test_the_rating_comment_is_checked_as_a_comment(content_checks, town, as_user, django_capture_on_commit_callbacks):
    resident = with_openid(town.resident, "hu")
    with django_capture_on_commit_callbacks(execute=True):
        appeal, _ = services.submit_appeal(
            by=resident, client_id=uuid.uuid4(), community=town.community, category="environment", content="路灯不亮"
        )
        services.accept(appeal=appeal, by=town.secretary)
        services.reply(appeal=appeal, by=town.secretary, content="已报修")
        services.resolve(appeal=appeal, by=town.secretary)
        response = as_user(resident).post(
            f"{LIST}{appeal.pk}/rate/", {"score": 1, "comment": RISKY_MARKER}, format="json"
        )
    assert response.status_code == 200
    text, comment = checks_of(appeal)
    assert (text.field, text.status, comment.field, comment.status) == (
        "text",
        Status.PASSED,
        "comment",
        Status.REJECTED,
    )
    assert content_checks.calls_to("/wxa/msg_sec_check")[-1].body["scene"] == 2
    assert flags(as_user(town.secretary)) == {appeal.pk: "rejected"}


def test_a_hotline_ticket_staff_typed_in_is_left_unchecked(
    content_checks, town, as_user, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = as_user(town.staff).post(
            LIST,
            payload(town, source="hotline", ticket_number="YY1", contact_phone=town.resident.phone),
            format="json",
        )
    assert response.status_code == 201
    (check,) = checks_of(Appeal.objects.get(pk=response.json()["id"]))
    # Typed in by staff of the community: on their authority, recorded.
    assert (check.status, check.reason, check.decided_by) == (Status.PASSED, "staff_authority", town.staff)
    assert flags(as_user(town.secretary)) == {response.json()["id"]: None}
    assert content_checks.calls_to("/wxa/msg_sec_check") == []


def test_appeal_list_queries_stay_flat_with_flags(content_checks, town, as_user, django_assert_max_num_queries):
    resident = with_openid(town.resident, "hu")

    def add(n):
        for _ in range(n):
            services.submit_appeal(
                by=resident,
                client_id=uuid.uuid4(),
                community=town.community,
                category="environment",
                content="楼道杂物",
                photos=[image(resident, f"{uuid.uuid4().hex}.jpg")],
            )

    add(2)
    client = as_user(town.secretary)
    with django_assert_max_num_queries(12) as few:
        assert set(flags(client).values()) == {"pending"}
    add(8)
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert len(flags(client)) == 10
