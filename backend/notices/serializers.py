"""Shapes of notices on the wire, and validation of what clients send."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_serializer
from rest_framework import serializers

from backend.core.events import Audience
from backend.core.fields import BoundedDateTimeField

from .models import Notice
from .services import MAX_ATTACHMENTS, MAX_BODY, MAX_TITLE, MAX_USERS_AUDIENCE

MAX_ID = 2**63 - 1


class AudienceInputSerializer(serializers.Serializer):
    """Exactly one of: `street`, `community`, `grid`, `activity` (an id), or `users` (ids)."""

    street = serializers.IntegerField(min_value=1, required=False)
    community = serializers.IntegerField(min_value=1, required=False)
    grid = serializers.IntegerField(min_value=1, required=False)
    activity = serializers.IntegerField(min_value=1, required=False)
    users = serializers.ListField(
        child=serializers.IntegerField(min_value=1), min_length=1, max_length=MAX_USERS_AUDIENCE, required=False
    )

    def to_internal_value(self, data: Any) -> Audience:
        if not isinstance(data, dict):
            raise serializers.ValidationError(_('应为对象，如 {"community": 1} 或 {"users": [1, 2]}'))
        unknown = sorted(set(data) - set(self.fields))
        if unknown:
            raise serializers.ValidationError(_("未知的接收范围: %(keys)s") % {"keys": ", ".join(unknown)})
        values = super().to_internal_value(data)
        if len(values) != 1:
            raise serializers.ValidationError(_("须且只能指定 street、community、grid、activity、users 之一"))
        (kind, value), *_rest = values.items()
        return Audience(kind, tuple(dict.fromkeys(value)) if kind == "users" else (value,))


class NoticeCreateSerializer(serializers.Serializer):
    title = serializers.CharField(max_length=MAX_TITLE)
    body = serializers.CharField(max_length=MAX_BODY)
    kind = serializers.ChoiceField(
        choices=[choice for choice in Notice.Kind.choices if choice[0] != Notice.Kind.SYSTEM],
        default=Notice.Kind.ANNOUNCEMENT,
        help_text="`system` is reserved for notices the server sends itself",
    )
    attachments = serializers.ListField(
        child=serializers.IntegerField(min_value=1),
        max_length=MAX_ATTACHMENTS,
        default=list,
        help_text="ids from POST /api/v1/uploads/, uploaded by the sender",
    )
    audience = AudienceInputSerializer()


class NoticeSenderSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    real_name = serializers.CharField()


class NoticeAttachmentSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    url = serializers.CharField(help_text="path under the API's host, e.g. /media/uploads/…")
    thumbnail_url = serializers.CharField(allow_null=True, help_text="images only")
    kind = serializers.CharField()
    content_type = serializers.CharField()
    name = serializers.CharField()


class NoticeAudienceSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=Notice.AudienceKind.choices)
    ids = serializers.ListField(
        child=serializers.IntegerField(), help_text="the place ids; empty for `users` (recipients are not disclosed)"
    )


class NoticeSerializer(serializers.Serializer):
    """A notice as the list and the socket both send it (built by notices.selectors.notice_payload)."""

    id = serializers.IntegerField()
    title = serializers.CharField()
    body = serializers.CharField()
    kind = serializers.ChoiceField(choices=Notice.Kind.choices)
    created_at = BoundedDateTimeField()
    read_at = BoundedDateTimeField(allow_null=True, help_text="when I read it; null while unread")
    attachments = NoticeAttachmentSerializer(many=True)
    sender = NoticeSenderSerializer(allow_null=True, help_text="null for notices the server sends itself")
    audience = NoticeAudienceSerializer()


# The inbox builds its own page by id: the schema must not wrap it in an array as a `list` answer.
@extend_schema_serializer(many=False)
class NoticePageSerializer(serializers.Serializer):
    count = serializers.IntegerField(help_text="notices matching the cursor, over all pages")
    next = serializers.URLField(allow_null=True, help_text="the next page in the same order; null at the end")
    previous = serializers.URLField(allow_null=True, help_text="always null: walk back with the other cursor")
    results = NoticeSerializer(many=True)


class InboxQuerySerializer(serializers.Serializer):
    after_id = serializers.IntegerField(min_value=0, max_value=MAX_ID, required=False)
    before_id = serializers.IntegerField(min_value=1, max_value=MAX_ID, required=False)
    page_size = serializers.IntegerField(min_value=1, max_value=100, required=False)
    limit = serializers.IntegerField(min_value=1, max_value=100, required=False, help_text="same as page_size")


class UnreadCountSerializer(serializers.Serializer):
    count = serializers.IntegerField()


class ReadSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    read_at = BoundedDateTimeField()


class ReceiptUserSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    real_name = serializers.CharField()
    masked_phone = serializers.CharField(allow_null=True)


class ReceiptSerializer(serializers.Serializer):
    user = ReceiptUserSerializer()
    read_at = BoundedDateTimeField(allow_null=True)


class ReceiptPageSerializer(serializers.Serializer):
    count = serializers.IntegerField(help_text="rows matching `read`, over all pages")
    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)
    total = serializers.IntegerField(help_text="everyone the notice reached")
    read = serializers.IntegerField(help_text="how many have read it")
    unread = serializers.IntegerField()
    results = ReceiptSerializer(many=True)


class SubscriptionsInputSerializer(serializers.Serializer):
    accepted = serializers.ListField(
        child=serializers.CharField(max_length=64), max_length=20, default=list, help_text="template ids accepted"
    )
    rejected = serializers.ListField(
        child=serializers.CharField(max_length=64), max_length=20, default=list, help_text="template ids rejected"
    )


class SubscriptionSerializer(serializers.Serializer):
    template_id = serializers.CharField()
    remaining = serializers.IntegerField(help_text="messages this template may still send me (one per consent)")


class SubscriptionsSerializer(serializers.Serializer):
    subscriptions = SubscriptionSerializer(many=True)
