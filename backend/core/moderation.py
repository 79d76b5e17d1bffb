"""Content checks (内容安全): user text and images pass WeChat before other users see them.

Services call `submit()` in the transaction that writes a record: it notes which of the record's
text and images must be checked (a `ContentCheck` per part, pending) and, after commit, a task
runs each check. Text goes to msg_sec_check (an answer at once); an image goes to
media_check_async, whose verdict WeChat pushes later to /api/v1/wechat/push/ (`record_push`).

While a check that `holds` is not passed, the record's selectors keep it from everyone but its
author and the staff in scope (`with_review` + `visible_q`). WeChat's "review" and a check WeChat
cannot make (the author has no usable openid, or WeChat stayed down past the retries) wait for a
staff member in scope, never the author (`decide`). "risky" is final: the record stays hidden and
the listeners in `verdict_listeners` tell the author. Checks that do not hold (what only the
staff handling it read) record the verdict for those staff and hide nothing.

docs/wechat.md ("Content checks") lists what is checked and why.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import quote

from django.apps import apps
from django.conf import settings
from django.db import models, transaction
from django.db.models import Case, CharField, OuterRef, Q, Subquery, Value, When
from django.utils import timezone
from django.utils.translation import gettext as _

from .errors import DomainError, field_error
from .media import WECHAT_LINK_SECONDS, signed_query
from .models import ContentCheck, Upload
from .registry import Registry
from .scoping import can_act_on_community, get_scope
from .wechat import WeChatClient, WeChatError

logger = logging.getLogger(__name__)

# msg_sec_check / media_check_async scenes.
SCENE_PROFILE = 1
SCENE_COMMENT = 2
SCENE_FORUM = 3
SCENE_SOCIAL = 4

# msg_sec_check takes at most 2,500 characters; longer text goes in pieces, the worst verdict wins.
TEXT_LIMIT = 2500
# WeChat answers an image within about 30 minutes; one not answered in an hour is sent again.
MEDIA_ANSWER_WAIT = timedelta(hours=1)
# Attempts (WeChat down, a verdict never pushed) before a check is handed to staff.
MAX_ATTEMPTS = 12
MAX_BACKOFF = timedelta(hours=6)
# 40003 invalid openid, 61010 the openid has not used the mini-program in the last two hours:
# sending again does not help, so the check goes to staff.
OPENID_UNUSABLE = frozenset({40003, 61010})

Status = ContentCheck.Status
HELD = (Status.PENDING, Status.REVIEW, Status.REJECTED)
# What a record's review state may be while something holds it (None: nothing does).
REVIEW_STATES = ["pending", "review", "rejected"]
REVIEW_FIELD = "content_review"

# Told of every verdict after it commits: provider(check: ContentCheck) -> None. The notices app
# registers the one that tells an author their content was rejected.
verdict_listeners: Registry[Callable[[ContentCheck], None]] = Registry("content verdicts")

_VERDICTS = {"pass": Status.PASSED, "review": Status.REVIEW, "risky": Status.REJECTED}
_SEVERITY = {"pass": 0, "review": 1, "risky": 2}


def enabled() -> bool:
    return bool(getattr(settings, "CONTENT_CHECKS", True))


def target_of(model_or_obj: Any) -> str:
    return model_or_obj._meta.label_lower


# Recording what must be checked ----------------------------------------------------------------


def _text_of(obj: Any, names: Sequence[str]) -> str:
    parts: list[str] = []
    for name in names:
        value = getattr(obj, name, "")
        if isinstance(value, (list, tuple)):
            parts.extend(str(item) for item in value if str(item).strip())
        elif value is not None and str(value).strip():
            parts.append(str(value))
    return "\n".join(parts)


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _reset(check: ContentCheck, *, now: datetime) -> None:
    check.status = Status.PENDING
    check.reason = ""
    check.suggest = ""
    check.label = None
    check.trace_id = None
    check.attempts = 0
    check.next_attempt_at = now
    check.sent_at = None
    check.checked_at = None
    check.decided_by = None
    check.decision_note = ""


def _text_checks(
    obj: models.Model,
    target: str,
    texts: Mapping[str, Sequence[str]],
    common: dict[str, Any],
    *,
    now: datetime,
) -> list[ContentCheck]:
    """A check per text part that changed (an unchanged part keeps its verdict, an emptied one goes)."""
    touched: list[ContentCheck] = []
    for part, names in texts.items():
        text = _text_of(obj, names)
        existing = (
            ContentCheck.objects.select_for_update()
            .filter(target=target, object_id=obj.pk, field=part, upload__isnull=True)
            .first()
        )
        if not text.strip():
            if existing is not None:
                existing.delete()
            continue
        digest = _digest(text)
        if existing is not None and existing.digest == digest:
            continue
        check = existing or ContentCheck(target=target, object_id=obj.pk, field=part, kind=ContentCheck.Kind.TEXT)
        for name, value in common.items():
            setattr(check, name, value)
        check.source_fields = list(names)
        check.digest = digest
        _reset(check, now=now)
        check.save()
        touched.append(check)
    return touched


def _image_checks(
    obj: models.Model,
    target: str,
    images: Iterable[Upload | None],
    common: dict[str, Any],
    *,
    now: datetime,
) -> list[ContentCheck]:
    """A check per new image of the record's set; those of images no longer in it are forgotten."""
    wanted = {u.pk: u for u in images if u is not None and u.kind == Upload.Kind.IMAGE}
    current = ContentCheck.objects.filter(target=target, object_id=obj.pk, kind=ContentCheck.Kind.MEDIA)
    current.exclude(upload_id__in=list(wanted)).delete()
    known = set(current.values_list("upload_id", flat=True))
    touched: list[ContentCheck] = []
    for upload_id, upload in wanted.items():
        if upload_id in known:
            continue
        check = ContentCheck(
            target=target,
            object_id=obj.pk,
            field="media",
            kind=ContentCheck.Kind.MEDIA,
            upload=upload,
            digest=upload.sha256,
            **common,
        )
        _reset(check, now=now)
        check.save()
        touched.append(check)
    return touched


@transaction.atomic
def submit(
    obj: models.Model,
    *,
    author: Any,
    community_id: int | None,
    texts: Mapping[str, Sequence[str]] | None = None,
    images: Iterable[Upload | None] | None = None,
    holds: bool = True,
    scene: int = SCENE_FORUM,
) -> list[ContentCheck]:
    """Note what of `obj` WeChat must check; call it in the transaction that writes `obj`.

    `texts` maps a part name ("text", "comment") to the model fields whose text it is; a part whose
    text is unchanged keeps its verdict, an emptied one is dropped. `images`, when given, is the
    record's whole set of images now: new ones are checked, removed ones forgotten.
    """
    if not enabled():
        return []
    target = target_of(obj)
    now = timezone.now()
    author = author if getattr(author, "pk", None) is not None else None
    # Content checks are for what mini-program users write. What staff publish in a community they
    # act on is published on their authority: recorded as passed by them, never held for a second
    # staff member (staff write in the console, with no openid WeChat could check it under).
    on_authority = author is not None and community_id is not None and can_act_on_community(author, community_id)
    common = {"holds": holds, "author": author, "community_id": community_id, "scene": scene}
    touched = _text_checks(obj, target, texts or {}, common, now=now)
    if images is not None:
        touched += _image_checks(obj, target, images, common, now=now)
    if touched and on_authority:
        for check in touched:
            check.decided_by = author
            check.status, check.reason, check.checked_at, check.next_attempt_at = (
                Status.PASSED,
                "staff_authority",
                now,
                None,
            )
            check.save()
    elif touched:
        ids = [check.pk for check in touched]
        transaction.on_commit(lambda: _enqueue(ids))
    return touched


def _enqueue(ids: list[int]) -> None:
    from .tasks import run_content_check

    for check_id in ids:
        try:
            run_content_check.enqueue(check_id)
        except Exception:
            # The check stays pending and due: the retry job runs it.
            logger.exception("could not enqueue content check %s", check_id)


def forget(obj: models.Model) -> None:
    """Drop the checks of a record that is being deleted."""
    ContentCheck.objects.filter(target=target_of(obj), object_id=obj.pk).delete()


# Reading: who sees what ------------------------------------------------------------------------


def review_state(model: type[models.Model], *, holds: bool = True, outer: str = "pk") -> Subquery:
    """The most serious unsettled state of a record's checks: "rejected", "review", "pending", or
    None once all have passed (or none was needed). `holds=False` reads the checks that only flag."""
    severity = Case(
        When(status=Status.REJECTED, then=Value(0)),
        When(status=Status.REVIEW, then=Value(1)),
        default=Value(2),
    )
    checks = (
        ContentCheck.objects.filter(target=target_of(model), object_id=OuterRef(outer), holds=holds, status__in=HELD)
        .annotate(severity=severity)
        .order_by("severity", "id")
        .values("status")[:1]
    )
    return Subquery(checks, output_field=CharField())


def with_review(queryset: models.QuerySet, *, holds: bool = True, name: str = REVIEW_FIELD) -> models.QuerySet:
    """`queryset` with each record's review state as `name` (one subquery in the same statement)."""
    return queryset.annotate(**{name: review_state(queryset.model, holds=holds)})


def visible_q(name: str = REVIEW_FIELD) -> Q:
    """Records nothing holds back: filter `with_review(...)` by this OR'd with who else may see them."""
    return Q(**{f"{name}__isnull": True})


def review_of(obj: models.Model, *, holds: bool = True, name: str = REVIEW_FIELD) -> str | None:
    """The record's review state, from the annotation when the selector added it."""
    if hasattr(obj, name):
        return getattr(obj, name)
    if obj.pk is None:
        return None
    return (
        type(obj)
        ._default_manager.filter(pk=obj.pk)
        .annotate(**{name: review_state(type(obj), holds=holds)})
        .values_list(name, flat=True)
        .first()
    )


def is_held(obj: models.Model) -> bool:
    return ContentCheck.objects.filter(target=target_of(obj), object_id=obj.pk, holds=True, status__in=HELD).exists()


def require_visible(obj: models.Model) -> None:
    """Refuse to act for others on a record WeChat or staff have not cleared."""
    if is_held(obj):
        raise DomainError("content_held", _("该内容正在审核或未通过审核, 暂不能进行此操作"))


# Running a check ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    check_id: int
    status: str
    # True when WeChat could not be reached: a sweep stops there and tries again next time.
    unavailable: bool = False


def _backoff(attempt: int) -> timedelta:
    return min(MAX_BACKOFF, timedelta(minutes=2 ** max(0, attempt - 1)))


def media_url(upload: Upload) -> str | None:
    """Where WeChat downloads the image: the public https address nginx serves it from."""
    base = (getattr(settings, "MEDIA_PUBLIC_URL", "") or "").strip()
    if not base or not upload.file:
        return None
    name = upload.file.name or ""
    return f"{base.rstrip('/')}/{quote(name)}?{signed_query(name, lifetime=WECHAT_LINK_SECONDS)}"


def _record(check: ContentCheck) -> models.Model | None:
    try:
        model = apps.get_model(check.target)
    except (LookupError, ValueError):
        return None
    return model._default_manager.filter(pk=check.object_id).first()


def current_text(check: ContentCheck) -> str | None:
    """The text of the checked part as the record holds it now; None when the record is gone."""
    obj = _record(check)
    return None if obj is None else _text_of(obj, check.source_fields)


def _chunks(text: str) -> list[str]:
    return [text[i : i + TEXT_LIMIT] for i in range(0, len(text), TEXT_LIMIT)] or [text]


def _claim(check_id: int, now: datetime) -> ContentCheck | None:
    """Take a due pending check for one attempt; None when it is not pending or not due."""
    with transaction.atomic():
        check = ContentCheck.objects.select_for_update().filter(pk=check_id).first()
        if check is None or check.status != Status.PENDING:
            return None
        if check.next_attempt_at is not None and check.next_attempt_at > now:
            return None
        check.attempts += 1
        # Until this attempt ends (or, should the process die, until then) no other run takes it.
        check.next_attempt_at = now + _backoff(check.attempts)
        check.save(update_fields=["attempts", "next_attempt_at", "updated_at"])
    return check


def run_check(check_id: int, *, now: datetime | None = None) -> Outcome | None:
    """One attempt at a pending check; safe to call twice (the second finds it claimed or done)."""
    now = now or timezone.now()
    check = _claim(check_id, now)
    if check is None:
        return None
    author = check.author
    openid = getattr(author, "wechat_openid", None) if author is not None else None
    if not openid:
        return _cannot_check(check.pk, "no_openid")
    client = WeChatClient()
    if check.kind == ContentCheck.Kind.TEXT:
        text = current_text(check)
        if text is None:
            ContentCheck.objects.filter(pk=check.pk).delete()
            return None
        digest = _digest(text)
        if digest != check.digest:
            # Changed since it was noted: the newer submission runs its own check.
            return None
        worst = None
        try:
            for chunk in _chunks(text):
                verdict = client.msg_sec_check(openid, chunk, check.scene)
                if worst is None or _SEVERITY[verdict.suggest] > _SEVERITY[worst.suggest]:
                    worst = verdict
        except WeChatError as exc:
            return _failed(check.pk, exc.errcode)
        assert worst is not None
        return _conclude(check.pk, worst.suggest, worst.label, trace_id=worst.trace_id, digest=digest)
    if _record(check) is None:
        ContentCheck.objects.filter(pk=check.pk).delete()
        return None
    upload = check.upload
    url = media_url(upload) if upload is not None else None
    if url is None:
        return _cannot_check(check.pk, "no_public_url")
    try:
        trace_id = client.media_check_async(openid, url, check.scene)
    except WeChatError as exc:
        return _failed(check.pk, exc.errcode)
    ContentCheck.objects.filter(pk=check.pk, status=Status.PENDING).update(
        trace_id=trace_id, sent_at=now, next_attempt_at=now + MEDIA_ANSWER_WAIT, updated_at=timezone.now()
    )
    return Outcome(check.pk, Status.PENDING)


def run_due_checks(*, now: datetime | None = None, limit: int = 500) -> int:
    """The retry job: every pending check whose time has come; stops early while WeChat is down."""
    now = now or timezone.now()
    due = list(
        ContentCheck.objects.filter(status=Status.PENDING, next_attempt_at__lte=now)
        .order_by("next_attempt_at", "id")
        .values_list("id", flat=True)[:limit]
    )
    ran = 0
    for check_id in due:
        outcome = run_check(check_id, now=now)
        if outcome is None:
            continue
        ran += 1
        if outcome.unavailable:
            break
    return ran


def _locked(check_id: int) -> ContentCheck | None:
    return ContentCheck.objects.select_for_update().filter(pk=check_id, status=Status.PENDING).first()


def _announce(check: ContentCheck) -> None:
    def tell() -> None:
        for name, listener in verdict_listeners.items():
            try:
                listener(check)
            except Exception:
                logger.exception("content verdict listener %s failed for check %s", name, check.pk)

    transaction.on_commit(tell)


def _settle(check: ContentCheck, status: str, *, reason: str, now: datetime | None = None) -> None:
    check.status = status
    check.reason = reason
    check.checked_at = now or timezone.now()
    check.next_attempt_at = None
    check.save()
    _announce(check)


def _cannot_check(check_id: int, reason: str) -> Outcome | None:
    """WeChat cannot judge it: staff decide what holds; what only flags is left unchecked."""
    with transaction.atomic():
        check = _locked(check_id)
        if check is None:
            return None
        _settle(check, Status.REVIEW if check.holds else Status.SKIPPED, reason=reason)
    logger.info("content check %s handed to staff: %s", check_id, reason)
    return Outcome(check_id, check.status)


def _failed(check_id: int, errcode: int | None) -> Outcome | None:
    if errcode in OPENID_UNUSABLE:
        return _cannot_check(check_id, "openid_unusable")
    with transaction.atomic():
        check = _locked(check_id)
        if check is None:
            return None
        if check.attempts < MAX_ATTEMPTS:
            logger.warning(
                "content check %s: WeChat failed (errcode %s), attempt %s", check_id, errcode, check.attempts
            )
            return Outcome(check_id, check.status, unavailable=True)
    return _cannot_check(check_id, "wechat_unavailable")


def _conclude(
    check_id: int,
    suggest: str,
    label: int | None,
    *,
    trace_id: str | None,
    digest: str | None = None,
    answering: str | None = None,
) -> Outcome | None:
    """WeChat's verdict, unless the part changed (`digest`) or was sent again (`answering`) meanwhile."""
    with transaction.atomic():
        check = _locked(check_id)
        if check is None or (digest is not None and check.digest != digest):
            return None
        if answering is not None and check.trace_id != answering:
            return None
        check.suggest = suggest
        check.label = label
        if trace_id:
            check.trace_id = trace_id
        _settle(check, _VERDICTS[suggest], reason="wechat")
    return Outcome(check_id, check.status)


# WeChat's labels and error codes are small numbers; anything else in a push is not theirs.
_PUSHED_INT_RANGE = range(-(2**31), 2**31)


def _as_int(value: Any) -> int | None:
    try:
        number = int(value)
    except (TypeError, ValueError, OverflowError):  # OverflowError: int(float("inf"))
        return None
    return number if number in _PUSHED_INT_RANGE else None


def _pushed_text(value: Any, *, max_length: int) -> str | None:
    """A string of the push as a column can hold it: no lone surrogates (not UTF-8), not too long."""
    if not isinstance(value, str) or not value or len(value) > max_length:
        return None
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return None
    return value


def record_push(event: Mapping[str, Any]) -> bool:
    """A `wxa_media_check` event pushed by WeChat (its signature already checked); False when no
    pending check has that trace_id (a late answer to an image sent again, or not ours)."""
    trace_id = _pushed_text(event.get("trace_id"), max_length=ContentCheck.trace_id.field.max_length or 0)
    if trace_id is None:
        return False
    check = ContentCheck.objects.filter(trace_id=trace_id, kind=ContentCheck.Kind.MEDIA).only("id", "status").first()
    if check is None:
        return False
    if check.status != Status.PENDING:
        return True  # WeChat repeats a push it thinks we missed
    result: Mapping[str, Any] = event["result"] if isinstance(event.get("result"), Mapping) else {}
    suggest = result.get("suggest") if isinstance(result.get("suggest"), str) else None
    errcode = _as_int(event.get("errcode", 0))
    if errcode != 0 or suggest not in _VERDICTS:
        logger.warning("content check %s: WeChat could not check the image (errcode %s)", check.pk, errcode)
        with transaction.atomic():
            locked = _locked(check.pk)
            if locked is not None and locked.trace_id == trace_id:
                # Sent again at the next sweep (or handed to staff after the last attempt).
                locked.next_attempt_at = timezone.now()
                locked.save(update_fields=["next_attempt_at", "updated_at"])
                if locked.attempts >= MAX_ATTEMPTS:
                    _settle(locked, Status.REVIEW if locked.holds else Status.SKIPPED, reason="wechat_unavailable")
        return True
    label = _as_int(result.get("label"))
    # The column holds WeChat's labels, which are positive; a negative one is stored as no label.
    _conclude(check.pk, suggest, label if label is not None and label >= 0 else None, trace_id=None, answering=trace_id)
    return True


# Staff decisions ------------------------------------------------------------------------------


def may_decide(user: Any, check: ContentCheck) -> bool:
    """Staff in scope decide, never on their own content (superusers excepted)."""
    scope = get_scope(user)
    if scope.is_superuser:
        return True
    return can_act_on_community(user, check.community_id) and check.author_id != getattr(user, "pk", None)


@transaction.atomic
def decide(*, check: ContentCheck, by: Any, approve: bool, note: str = "") -> ContentCheck:
    """A staff member's decision on a check waiting for one ("review")."""
    check = ContentCheck.objects.select_for_update().get(pk=check.pk)
    if not can_act_on_community(by, check.community_id):
        raise DomainError("not_found", _("内容不存在"))
    if not may_decide(by, check):
        raise DomainError("permission_denied", _("不能复核自己发布的内容"))
    if check.status != Status.REVIEW:
        raise DomainError("invalid_transition", _("只有待人工复核的内容可以复核"))
    note = (note or "").strip()
    if len(note) > 500:
        raise field_error("note", _("复核意见不能超过 500 字"))
    check.decided_by = by
    check.decision_note = note
    _settle(check, Status.PASSED if approve else Status.REJECTED, reason="staff")
    return check


def describe(check: ContentCheck) -> tuple[str, str]:
    """(what kind of record, its title) for messages about a check; the title may be empty."""
    try:
        model = apps.get_model(check.target)
    except (LookupError, ValueError):
        return check.target, ""
    obj = _record(check)
    return str(model._meta.verbose_name), "" if obj is None else str(obj)
