"""The inbox's page and the socket's replay are read by one statement written once per shape
(selectors._inbox_rows) and formatted directly: held here to what the ORM's page (the receipts with
their notices and senders, `COUNT(*)` of the cursor) and `notice_payload`, the socket's shape, say
for the same rows, whatever the rows hold."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.renderers import JSONRenderer

from backend.core.models import Upload
from backend.notices import selectors
from backend.notices.models import Notice, NoticeReceipt
from tests import factories
from tests.notices.helpers import make_upload

pytestmark = pytest.mark.django_db

URL = "/api/v1/notices/"


def rendered(data) -> bytes:
    return JSONRenderer().render(data)


@pytest.fixture
def inbox(community):
    """A resident's receipts that between them fill every field of the payload each way."""
    mine, other = factories.UserFactory(community=community), factories.UserFactory(community=community)
    sender = factories.staff_of(community)
    unnamed = factories.staff_of(community)
    unnamed.real_name = ""
    unnamed.save()
    document = make_upload(sender)
    image = Upload.objects.create(
        owner=sender,
        kind=Upload.Kind.IMAGE,
        file="uploads/notice-photo.jpg",
        thumbnail="uploads/notice-photo-thumb.jpg",
        content_type="image/jpeg",
        size=2048,
        width=640,
        height=480,
        sha256="1" * 64,
        original_name="现场照片.jpg",
    )
    whole_second = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
    shapes = [
        # sender, kind, audience kind and ids, attachments (a deleted upload's id among them), read?
        (sender, Notice.Kind.ANNOUNCEMENT, Notice.AudienceKind.COMMUNITY, [community.pk], [], False),
        (None, Notice.Kind.SYSTEM, Notice.AudienceKind.USERS, [mine.pk, other.pk], [], True),
        (sender, Notice.Kind.ACTIVITY, Notice.AudienceKind.ACTIVITY, [7, 9], [image.pk, document.pk], True),
        (unnamed, Notice.Kind.REGISTRATION, Notice.AudienceKind.STREET, [community.street_id], [999999], False),
        (sender, Notice.Kind.VOLUNTEER, Notice.AudienceKind.GRID, [], [document.pk, image.pk, document.pk], False),
        (None, Notice.Kind.APPEAL, Notice.AudienceKind.USERS, [], [image.pk], False),
        (sender, Notice.Kind.BRAND, Notice.AudienceKind.COMMUNITY, [community.pk, 3], [], True),
    ]
    for i, (by, kind, audience_kind, audience_ids, attachments, read) in enumerate(shapes):
        notice = Notice.objects.create(
            title=f"通知 “{i}” <b>&",
            body="" if i == 3 else f'正文\n第{i}条 \\ "引号" \U0001f600',
            kind=kind,
            sender=by,
            audience_kind=audience_kind,
            audience_ids=audience_ids,
            attachments=attachments,
            created_at=whole_second if i == 1 else timezone.now() - timedelta(days=10 - i, microseconds=i),
        )
        read_at = (whole_second + timedelta(days=i, microseconds=i * 7)) if read else None
        NoticeReceipt.objects.create(notice=notice, user=mine, read_at=read_at)
        NoticeReceipt.objects.create(notice=notice, user=other, read_at=None if read else timezone.now())
    ids = list(NoticeReceipt.objects.filter(user=mine).order_by("notice_id").values_list("notice_id", flat=True))
    return mine, ids


def orm_page(user_id: int, after_id: int | None, before_id: int | None, limit: int) -> dict:
    """The page as the ORM read it before: the receipts with notice and sender, the count apart."""
    receipts = NoticeReceipt.objects.filter(user_id=user_id)
    if after_id is not None:
        receipts = receipts.filter(notice_id__gt=after_id)
    if before_id is not None:
        receipts = receipts.filter(notice_id__lt=before_id)
    ordered = receipts.select_related("notice", "notice__sender").order_by(
        "notice_id" if after_id is not None else "-notice_id"
    )
    rows = list(ordered[: limit + 1])
    return {
        "results": [selectors.notice_payload(r.notice, r.read_at) for r in rows[:limit]],
        "count": receipts.count(),
        "has_more": len(rows) > limit,
    }


def test_every_page_says_what_the_orm_and_the_socket_payload_say(inbox):
    mine, ids = inbox
    cursors = [None, 0, ids[0], ids[2], ids[-1], ids[-1] + 1]
    for after_id, before_id, limit in itertools.product(cursors, cursors[2:], (1, 2, 3, 100)):
        if after_id is None and before_id is None:
            continue
        page = selectors.inbox_page(user_id=mine.pk, after_id=after_id, before_id=before_id, limit=limit)
        expected = orm_page(mine.pk, after_id, before_id, limit)
        assert rendered(page.results) == rendered(expected["results"]), (after_id, before_id, limit)
        assert (page.count, page.has_more, page.ascending) == (
            expected["count"],
            expected["has_more"],
            after_id is not None,
        ), (after_id, before_id, limit)
    for limit in (1, 3, 7, 20):
        page = selectors.inbox_page(user_id=mine.pk, limit=limit)
        expected = orm_page(mine.pk, None, None, limit)
        assert rendered(page.results) == rendered(expected["results"])
        assert (page.count, page.has_more) == (expected["count"], expected["has_more"])
    assert selectors.inbox_page(user_id=mine.pk).count == len(ids) == 7


def test_the_rows_cover_every_shape_of_the_payload(inbox):
    mine, _ids = inbox
    results = selectors.inbox_page(user_id=mine.pk).results
    assert {row["kind"] for row in results} == set(Notice.Kind.values)
    assert {row["audience"]["kind"] for row in results} == set(Notice.AudienceKind.values)
    assert any(row["sender"] is None for row in results)
    assert any(row["sender"] and row["sender"]["real_name"] == "" for row in results)
    assert any(row["read_at"] is None for row in results) and any(row["read_at"] for row in results)
    assert any(row["created_at"].endswith("T16:00:00+08:00") for row in results), "no microseconds shown"
    attachments = [a for row in results for a in row["attachments"]]
    assert {a["thumbnail_url"] is None for a in attachments} == {True, False}
    assert all(row["audience"]["ids"] == [] for row in results if row["audience"]["kind"] == "users")


def test_another_time_zone_formats_as_the_socket_payload_does(inbox):
    mine, _ids = inbox
    with timezone.override("UTC"):
        page = selectors.inbox_page(user_id=mine.pk)
        assert rendered(page.results) == rendered(orm_page(mine.pk, None, None, 20)["results"])
    assert page.results[0]["created_at"].endswith("+00:00")


def test_the_replay_says_what_the_orm_said(inbox):
    mine, ids = inbox
    for after_id, limit in itertools.product((0, ids[0], ids[3], ids[-1]), (0, 1, 4, 200)):
        expected = orm_page(mine.pk, after_id, None, limit)["results"] if limit else []
        assert rendered(selectors.notices_after(user_id=mine.pk, after_id=after_id, limit=limit)) == rendered(
            expected
        ), (after_id, limit)


def test_an_empty_inbox(community):
    nobody = factories.UserFactory(community=community)
    page = selectors.inbox_page(user_id=nobody.pk)
    assert (page.results, page.count, page.has_more, page.caller_active) == ([], 0, False, True)
    assert selectors.notices_after(user_id=nobody.pk, after_id=0) == []


def test_one_statement_for_the_page_and_its_count_however_many_rows(inbox, community):
    mine, ids = inbox
    plain = factories.UserFactory(community=community)
    for n in (1, 30):
        for i in range(n):
            notice = Notice.objects.create(title=f"批量{i}", body="正文", audience_kind="community")
            NoticeReceipt.objects.create(notice=notice, user=plain)
        with CaptureQueriesContext(connection) as plain_page:
            page = selectors.inbox_page(user_id=plain.pk, limit=100)
        assert len(page.results) == page.count and len(plain_page.captured_queries) == 1
        # With attachments, one more: the uploads of the whole page at once.
        with CaptureQueriesContext(connection) as attached:
            assert selectors.inbox_page(user_id=mine.pk, after_id=0, limit=n).count == len(ids)
        assert len(attached.captured_queries) == (1 if n == 1 else 2)


def test_the_endpoint_answers_the_orm_page(inbox, as_user):
    mine, ids = inbox
    client = as_user(mine)
    for params, after_id, before_id, limit in (
        ({}, None, None, 20),
        ({"page_size": 2}, None, None, 2),
        ({"before_id": ids[4], "limit": 2}, None, ids[4], 2),
        ({"after_id": ids[1], "page_size": 3}, ids[1], None, 3),
    ):
        body = client.get(URL, params).json()
        expected = orm_page(mine.pk, after_id, before_id, limit)
        assert rendered(body["results"]) == rendered(expected["results"])
        assert body["count"] == expected["count"]
        assert (body["next"] is not None) == expected["has_more"]
        assert body["previous"] is None


def test_the_page_says_whether_the_account_is_active(inbox):
    mine, ids = inbox
    assert selectors.inbox_page(user_id=mine.pk).caller_active is True
    mine.is_active = False
    mine.save(update_fields=["is_active"])
    page = selectors.inbox_page(user_id=mine.pk, after_id=ids[-1])
    assert (page.results, page.count, page.caller_active) == ([], 0, False)
    assert selectors.inbox_page(user_id=mine.pk).caller_active is False
    # The replay reads the rows whatever the account's state: the socket checks its own caller.
    assert len(selectors.notices_after(user_id=mine.pk, after_id=0)) == len(ids)
    gone = selectors.inbox_page(user_id=mine.pk + 10_000)
    assert (gone.results, gone.count, gone.has_more, gone.caller_active) == ([], 0, False, False)
