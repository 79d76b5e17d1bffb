"""The inbox's counts, written once per shape, agree with the ORM's on every shape."""

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
    assert selectors.receipt_count(user_id=mine.pk + other.pk + 1000) == 0
