"""The inbox's counts, written once per shape, agree with the ORM's on every shape, and carry the account's state."""

from __future__ import annotations

import itertools

import pytest
from django.utils import timezone

from backend.core.events import Audience
from backend.notices import selectors, services
from backend.notices.models import NoticeReceipt
from tests import factories

pytestmark = pytest.mark.django_db


def test_every_shape_counts_as_the_orm_counts(community):
    sender = factories.staff_of(community)
    mine, other = factories.UserFactory(community=community), factories.UserFactory(community=community)
    notices = [
        services.create_notice(sender=sender, title=f"通知{i}", body="正文", audience=Audience.community(community))
        for i in range(7)
    ]
    NoticeReceipt.objects.filter(user=mine, notice__in=notices[:3]).update(read_at=timezone.now())
    ids = [n.pk for n in notices]
    cursors = [None, ids[0], ids[3], ids[-1], 0]

    for user, unread, after_id, before_id in itertools.product((mine, other), (False, True), cursors, cursors):
        expected = NoticeReceipt.objects.filter(user=user)
        if unread:
            expected = expected.filter(read_at__isnull=True)
        if after_id is not None:
            expected = expected.filter(notice_id__gt=after_id)
        if before_id is not None:
            expected = expected.filter(notice_id__lt=before_id)
        assert (
            selectors.receipt_count(user_id=user.pk, unread=unread, after_id=after_id, before_id=before_id)
            == expected.count()
        ), (user, unread, after_id, before_id)
    assert selectors.unread_count(user_id=mine.pk) == 4


def test_the_counts_say_when_the_account_is_gone_or_inactive(community):
    sender = factories.staff_of(community)
    mine, idle = factories.UserFactory(community=community), factories.UserFactory(community=community)
    services.create_notice(sender=sender, title="通知", body="正文", audience=Audience.community(community))
    idle.is_active = False
    idle.save(update_fields=["is_active"])
    assert selectors.unread_count(user_id=mine.pk) == 1
    assert selectors.receipt_count(user_id=factories.UserFactory().pk) == 0
    for user_id in (idle.pk, mine.pk + idle.pk + 1000):
        assert selectors.unread_count(user_id=user_id) is None
        assert selectors.receipt_count(user_id=user_id, after_id=0, before_id=10**9) is None
