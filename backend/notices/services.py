"""Notices: sending one (fan-out on write), reading, consents, and subscribe-message delivery.

Notice ids commit in id order. A client resumes with the last id it saw and asks for larger
ones; if two notices could commit out of order, one committed late under a smaller id would be
skipped forever. So creating a notice is serialised: on PostgreSQL by a transaction-scoped
advisory lock taken before the row gets its id, on SQLite by the write lock every IMMEDIATE
transaction takes at its start.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from backend.accounts.models import User
from backend.accounts.scoping import get_scope
from backend.communities.models import Community, Grid, Street
from backend.core.errors import DomainError, field_error
from backend.core.events import Audience, emit, may_watch
from backend.core.models import Upload
from backend.core.selectors import uploads_owned_by
from backend.core.wechat import WeChatClient, WeChatError

from . import live, presence, selectors, subscribe
from .models import Notice, NoticeReceipt, SubscribeConsent, SubscribeDelivery

logger = logging.getLogger(__name__)

# The advisory lock every notice insert takes on PostgreSQL ("noti" in ASCII); nothing else uses it.
NOTICE_ID_LOCK = 0x6E6F7469
FANOUT_BATCH = 1000
MAX_TITLE = 100
MAX_BODY = 5000
MAX_ATTACHMENTS = 9
MAX_USERS_AUDIENCE = 1000

# WeChat errcodes worth another attempt: -1 "system busy"; None: no answer at all (timeout, network).
RETRYABLE_ERRCODES = frozenset({-1, None})
NO_CONSENT_ERRCODE = 43101

# Events for people watching an object rather than for its audience: sent to the watchers' group.
WATCHED_EVENTS = {"attendance.changed": live.attendance_group}


# --- sending a notice --------------------------------------------------------------------------


def _invalid(field: str, message: str) -> DomainError:
    return field_error(field, message)


def _clean_text(value: Any, field: str, limit: int) -> str:
    text = str(value or "").strip()
    if not text:
        raise _invalid(field, _("不能为空"))
    if len(text) > limit:
        raise _invalid(field, _("不能超过 %(limit)d 个字符") % {"limit": limit})
    return text


def _require_staff(sender: User) -> None:
    if not get_scope(sender).is_staff:
        raise DomainError("permission_denied", _("只有街道或社区工作人员可以发布通知"))


def _users_in_reach(sender: User, ids: tuple[int, ...]) -> set[int]:
    return set(selectors.users_in_reach(sender).filter(pk__in=ids).values_list("pk", flat=True))


def check_audience(*, sender: User, audience: Audience) -> None:
    """Refuse an audience outside the sender's scope, as a validation error on `audience`.

    A place that does not exist and one outside scope get the same answer, so the error does
    not reveal what exists elsewhere.
    """
    ids = tuple(dict.fromkeys(int(pk) for pk in audience.ids))
    if not ids:
        raise _invalid("audience", _("请指定接收范围"))
    scope = get_scope(sender)
    kind = audience.kind
    if kind == "users":
        if len(ids) > MAX_USERS_AUDIENCE:
            raise _invalid("audience", _("一次最多发给 %(n)d 人") % {"n": MAX_USERS_AUDIENCE})
        missing = sorted(set(ids) - _users_in_reach(sender, ids))
        if missing:
            raise _invalid(
                "audience", _("以下用户不存在或不在您的管理范围内: %(ids)s") % {"ids": ", ".join(map(str, missing))}
            )
        return
    if kind == "activity":
        allowed = all(may_watch(sender, "activity", pk) for pk in ids)
    elif scope.is_superuser:
        model = {"street": Street, "community": Community, "grid": Grid}[kind]
        allowed = model._default_manager.filter(pk__in=ids).count() == len(ids)
    elif kind == "street":
        allowed = set(ids) <= scope.street_ids
    elif kind == "community":
        allowed = set(ids) <= scope.community_ids
    else:
        allowed = Grid.objects.filter(pk__in=ids, community_id__in=scope.community_ids).count() == len(ids)
    if not allowed:
        label = Notice.AudienceKind(kind).label
        raise _invalid("audience", _("%(kind)s不存在或不在您的管理范围内") % {"kind": label})


def _check_attachments(sender: User | None, attachments: Sequence[int]) -> list[int]:
    try:
        ids = list(dict.fromkeys(int(pk) for pk in attachments))
    except (TypeError, ValueError):
        raise _invalid("attachments", _("应为上传文件 id 的列表")) from None
    if len(ids) > MAX_ATTACHMENTS:
        raise _invalid("attachments", _("附件最多 %(n)d 个") % {"n": MAX_ATTACHMENTS})
    if not ids:
        return ids
    # Only the sender's own files: another user's upload id behaves like one that does not exist.
    uploads = Upload.objects.filter(pk__in=ids) if sender is None else uploads_owned_by(sender, ids)
    found = set(uploads.values_list("pk", flat=True))
    for pk in ids:
        if pk not in found:
            raise _invalid("attachments", _("上传文件 %(pk)s 不存在") % {"pk": pk})
    return ids


def _place_of(audience: Audience) -> tuple[int | None, int | None]:
    """(street id, community id) the audience lies in, each None when it spans several or none."""
    ids = tuple(dict.fromkeys(int(pk) for pk in audience.ids))
    if audience.kind == "street":
        return (ids[0] if len(ids) == 1 else None), None
    if audience.kind == "community":
        pairs = set(Community.objects.filter(pk__in=ids).values_list("street_id", "pk"))
    elif audience.kind == "grid":
        pairs = set(Grid.objects.filter(pk__in=ids).values_list("community__street_id", "community_id"))
    else:
        return None, None
    streets = {street_id for street_id, _community in pairs}
    communities = {community_id for _street, community_id in pairs}
    return (
        next(iter(streets)) if len(streets) == 1 else None,
        next(iter(communities)) if len(communities) == 1 else None,
    )


def _serialise_notice_ids() -> None:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [NOTICE_ID_LOCK])


def _write_receipts(notice: Notice, recipients: list[int]) -> None:
    if connection.vendor == "postgresql":
        # One statement, the ids as one array parameter: bulk_create built a model instance and two
        # parameters per recipient and took 0.17–0.2 s for 1,000 of them, against 0.02–0.04 s, all of
        # it while holding the notice lock.
        meta = NoticeReceipt._meta
        table, notice_column, user_column = (
            connection.ops.quote_name(name)
            for name in (meta.db_table, meta.get_field("notice").column, meta.get_field("user").column)
        )
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {table} ({notice_column}, {user_column}) SELECT %s, unnest(%s::bigint[])",
                [notice.pk, recipients],
            )
        return
    NoticeReceipt.objects.bulk_create(
        (NoticeReceipt(notice=notice, user_id=user_id) for user_id in recipients), batch_size=FANOUT_BATCH
    )


def create_notice(
    *,
    sender: User | None,
    title: str,
    body: str,
    kind: str = Notice.Kind.ANNOUNCEMENT,
    audience: Audience,
    attachments: Sequence[int] = (),
) -> Notice:
    """Send a notice: one receipt per recipient, written with it; live delivery after commit.

    `sender=None` is the system (other apps telling someone their registration was approved);
    a person sending must be staff, and only to audiences inside their scope.
    """
    title = _clean_text(title, "title", MAX_TITLE)
    body = _clean_text(body, "body", MAX_BODY)
    if kind not in Notice.Kind.values:
        raise _invalid("kind", _("未知的通知类型"))
    if sender is not None:
        _require_staff(sender)
        check_audience(sender=sender, audience=audience)
    attachment_ids = _check_attachments(sender, attachments)
    audience_ids = list(dict.fromkeys(int(pk) for pk in audience.ids))

    with transaction.atomic():
        # Reading the audience before the lock keeps the serialised part to the inserts.
        recipients = sorted(selectors.audience_user_ids(audience))
        street_id, community_id = _place_of(audience)
        _serialise_notice_ids()
        notice = Notice.objects.create(
            title=title,
            body=body,
            kind=kind,
            attachments=attachment_ids,
            sender=sender,
            audience_kind=audience.kind,
            audience_ids=audience_ids,
            street_id=street_id,
            community_id=community_id,
            recipient_count=len(recipients),
        )
        _write_receipts(notice, recipients)
        payload = selectors.notice_payload(notice)

        def after_commit() -> None:
            _deliver_notice(notice.pk, recipients, payload)

        transaction.on_commit(after_commit, robust=True)
    return notice


def _deliver_notice(notice_id: int, recipients: list[int], payload: dict[str, Any]) -> None:
    live.publish_notice(recipients, payload)
    if not recipients or subscribe.template_for_kind(payload["kind"]) is None:
        return
    try:
        from .tasks import plan_subscribe_messages

        plan_subscribe_messages.enqueue(notice_id)
    except Exception:
        # The notice is in every inbox already; only the WeChat reminder is lost.
        logger.exception("could not enqueue subscribe messages for notice %s", notice_id)


# --- reading ---------------------------------------------------------------------------------


def mark_read(*, user: User, notice: Notice) -> NoticeReceipt:
    """Mark the user's copy read. Idempotent: the first read time stays."""
    now = timezone.now()
    with transaction.atomic():
        marked = NoticeReceipt.objects.filter(notice=notice, user=user, read_at__isnull=True).update(read_at=now)
        receipt = NoticeReceipt.objects.filter(notice=notice, user=user).first()
        if receipt is None:
            raise DomainError("not_found", _("通知不存在"))
        if marked:
            # The user's other devices clear the notice from their unread badge.
            emit(
                event="notice.read",
                data={"id": notice.pk, "read_at": selectors.iso_time(receipt.read_at)},
                audience=Audience.user(user),
            )
    return receipt


# --- subscribe-message consents --------------------------------------------------------------


def record_subscriptions(*, user: User, accepted: Sequence[str], rejected: Sequence[str]) -> dict[str, int]:
    """Count what the user accepted in wx.requestSubscribeMessage: each acceptance allows one message."""
    accepted = list(dict.fromkeys(accepted))
    rejected = list(dict.fromkeys(rejected))
    configured = set(subscribe.configured_template_ids())
    fields: dict[str, list[str]] = {}
    for name, ids in (("accepted", accepted), ("rejected", rejected)):
        unknown = [tid for tid in ids if tid not in configured]
        if unknown:
            fields[name] = [_("未配置的订阅消息模板: %(ids)s") % {"ids": ", ".join(unknown)}]
    both = sorted(set(accepted) & set(rejected))
    if both:
        fields.setdefault("rejected", []).append(_("同一模板不能既同意又拒绝: %(ids)s") % {"ids": ", ".join(both)})
    if not accepted and not rejected:
        fields["accepted"] = [_("请至少提供一个模板")]
    if fields:
        raise DomainError("validation_error", _("输入有误"), fields=fields)

    now = timezone.now()
    with transaction.atomic():
        for template_id in accepted:
            consent, _created = SubscribeConsent.objects.get_or_create(user=user, template_id=template_id)
            SubscribeConsent.objects.filter(pk=consent.pk).update(
                remaining=F("remaining") + 1, accepted_total=F("accepted_total") + 1, last_accepted_at=now
            )
        for template_id in rejected:
            SubscribeConsent.objects.update_or_create(
                user=user, template_id=template_id, defaults={"last_rejected_at": now}
            )
    return selectors.subscription_counts(user_id=user.pk)


# --- subscribe-message delivery ---------------------------------------------------------------


@dataclass(frozen=True)
class DeliveryOutcome:
    status: str
    retry_at: datetime | None = None


def max_attempts() -> int:
    return int(getattr(settings, "NOTICES_SUBSCRIBE_MAX_ATTEMPTS", 4))


def retry_delay(attempt: int) -> timedelta:
    """30 s, 2 min, 8 min …: WeChat's "system busy" passes in seconds to minutes."""
    base = float(getattr(settings, "NOTICES_SUBSCRIBE_RETRY_BASE_SECONDS", 30))
    return timedelta(seconds=base * 4 ** max(0, attempt - 1))


def plan_subscribe_deliveries(*, notice_id: int) -> list[int]:
    """Who gets a subscribe message for this notice: recipients with no socket open and a consent left.

    Idempotent: a delivery is unique per (notice, user); running this twice plans nothing new.
    """
    notice = Notice.objects.filter(pk=notice_id).first()
    if notice is None:
        return []
    template = subscribe.template_for_kind(notice.kind)
    if template is None:
        return []
    consents = SubscribeConsent.objects.filter(
        template_id=template.template_id,
        remaining__gt=0,
        user__is_active=True,
        user__wechat_openid__isnull=False,
        user__notice_receipts__notice_id=notice_id,
        user__notice_receipts__read_at__isnull=True,
    ).exclude(user__wechat_openid="")
    if notice.sender_id is not None:  # a system notice has no sender to leave out
        consents = consents.exclude(user_id=notice.sender_id)
    candidates = list(consents.values_list("user_id", flat=True))
    online = presence.online_user_ids(candidates)
    offline = [user_id for user_id in candidates if user_id not in online]
    if not offline:
        return []
    SubscribeDelivery.objects.bulk_create(
        [
            SubscribeDelivery(notice_id=notice_id, user_id=user_id, template_id=template.template_id)
            for user_id in offline
        ],
        batch_size=FANOUT_BATCH,
        ignore_conflicts=True,
    )
    return list(
        SubscribeDelivery.objects.filter(
            notice_id=notice_id, user_id__in=offline, status=SubscribeDelivery.Status.PENDING
        ).values_list("pk", flat=True)
    )


def _finish(
    delivery: SubscribeDelivery,
    status: str,
    *,
    errcode: int | None = None,
    detail: str = "",
    refund: bool = False,
    no_consent_left: bool = False,
    retry_at: datetime | None = None,
) -> DeliveryOutcome:
    with transaction.atomic():
        consent = SubscribeConsent.objects.filter(user_id=delivery.user_id, template_id=delivery.template_id)
        if refund and delivery.consent_spent:
            # WeChat did not take the message, so the consent it was spent on is still there.
            consent.update(remaining=F("remaining") + 1)
            delivery.consent_spent = False
        if no_consent_left:
            consent.update(remaining=0)
        SubscribeDelivery.objects.filter(pk=delivery.pk).update(
            status=status,
            errcode=errcode,
            detail=detail[:200],
            next_attempt_at=retry_at,
            consent_spent=delivery.consent_spent,
            updated_at=timezone.now(),
        )
    return DeliveryOutcome(status, retry_at)


def _claim(delivery_id: int) -> SubscribeDelivery | DeliveryOutcome | None:
    """Take the delivery for one attempt (None if another run has it or it is done); spend the consent."""
    with transaction.atomic():
        claimed = SubscribeDelivery.objects.filter(
            pk=delivery_id, status__in=[SubscribeDelivery.Status.PENDING, SubscribeDelivery.Status.RETRYING]
        ).update(status=SubscribeDelivery.Status.SENDING, attempts=F("attempts") + 1, updated_at=timezone.now())
        if not claimed:
            return None
        delivery = SubscribeDelivery.objects.select_related("notice", "notice__sender", "user").get(pk=delivery_id)
        user = delivery.user
        skipped = SubscribeDelivery.Status.SKIPPED
        if not user.is_active or not user.wechat_openid:
            return _finish(delivery, skipped, detail="no WeChat identity", refund=True)
        if NoticeReceipt.objects.filter(notice_id=delivery.notice_id, user=user, read_at__isnull=False).exists():
            return _finish(delivery, skipped, detail="read before the message went", refund=True)
        if not delivery.consent_spent:
            spent = SubscribeConsent.objects.filter(
                user=user, template_id=delivery.template_id, remaining__gt=0
            ).update(remaining=F("remaining") - 1)
            if not spent:
                return _finish(delivery, skipped, detail="no consent left")
            delivery.consent_spent = True
            SubscribeDelivery.objects.filter(pk=delivery.pk).update(consent_spent=True)
    return delivery


def deliver_subscribe_message(*, delivery_id: int) -> DeliveryOutcome:
    """One attempt at one subscribe message. Never sends twice: each attempt first claims the row.

    43101 (no consent at WeChat) ends it and zeroes our count; -1 and no answer are retried up to
    `max_attempts()` with growing delays; any other errcode ends it, logged, consent given back.
    """
    claim = _claim(delivery_id)
    if claim is None:
        return DeliveryOutcome("not_claimed")
    if isinstance(claim, DeliveryOutcome):
        return claim
    delivery = claim
    template = subscribe.template_by_id(delivery.template_id)
    if template is None:
        return _finish(delivery, SubscribeDelivery.Status.SKIPPED, detail="template no longer configured", refund=True)
    notice = delivery.notice
    try:
        with WeChatClient() as client:
            client.send_subscribe_message(
                # Planned only for users with an openid; one erased since then is refused by WeChat.
                delivery.user.wechat_openid or "",
                template.template_id,
                subscribe.message_data(notice, template),
                subscribe.message_page(notice, template),
            )
    except WeChatError as exc:
        return _failed(delivery, exc.errcode, str(exc.detail))
    except Exception:
        logger.exception("subscribe message delivery %s failed unexpectedly", delivery.pk)
        return _finish(delivery, SubscribeDelivery.Status.FAILED, detail="unexpected error", refund=True)
    return _finish(delivery, SubscribeDelivery.Status.SENT)


def _failed(delivery: SubscribeDelivery, errcode: int | None, detail: str) -> DeliveryOutcome:
    status = SubscribeDelivery.Status
    if errcode == NO_CONSENT_ERRCODE:
        return _finish(delivery, status.REFUSED, errcode=errcode, detail=detail, no_consent_left=True)
    if errcode in RETRYABLE_ERRCODES and delivery.attempts < max_attempts():
        retry_at = timezone.now() + retry_delay(delivery.attempts)
        return _finish(delivery, status.RETRYING, errcode=errcode, detail=detail, retry_at=retry_at)
    logger.warning(
        "subscribe message delivery %s failed after %s attempt(s): errcode %s", delivery.pk, delivery.attempts, errcode
    )
    return _finish(delivery, status.FAILED, errcode=errcode, detail=detail, refund=True)


# --- the realtime event sink ----------------------------------------------------------------


def _plain(data: dict[str, Any]) -> dict[str, Any]:
    # The Redis layer packs messages with msgpack: dates, decimals and UUIDs must be text first.
    plain: dict[str, Any] = json.loads(json.dumps(data, cls=DjangoJSONEncoder))
    return plain


def deliver_event(*, event: str, data: dict[str, Any], audience: Audience) -> None:
    """The sink `emit()` hands committed events to (registered in NoticesConfig.ready()).

    Most events go to every member of the audience. `attendance.changed` (emitted with an
    activity audience) goes only to the staff watching that activity's attendance.
    """
    message_data = _plain(data)
    group_for = WATCHED_EVENTS.get(event)
    if group_for is not None and audience.kind == "activity":
        live.send_to_groups(
            (group_for(pk) for pk in audience.ids),
            {"type": "event.message", "event": event, "data": message_data},
        )
        return
    live.publish_event(selectors.audience_user_ids(audience), event, message_data)


# Personal data (accounts.registry) ------------------------------------------------------------


def erase_personal_data(user: User, *, now: datetime) -> None:
    """Account deletion: the subscribe-message consents go (nothing more is sent; deliveries already
    queued are skipped for an inactive account). Receipts stay: the senders' read figures count them."""
    SubscribeConsent.objects.filter(user=user).delete()
