"""The activity's record: minutes of a branch meeting and photos."""

from __future__ import annotations

from collections.abc import Sequence

from django.db import transaction
from django.utils.translation import gettext as _

from backend.accounts.models import User
from backend.core import moderation
from backend.core.errors import DomainError, field_error
from backend.core.models import Upload
from backend.core.selectors import uploads_owned_by

from .. import selectors
from ..models import Activity, ActivityPhoto, Minutes
from ._shared import Status, _blank, _lock, _require_manager

MAX_PHOTOS_PER_REQUEST = 9
MAX_PHOTOS_PER_ACTIVITY = 300
MAX_MINUTES_ATTACHMENTS = 20


def check_minutes_open(activity: Activity) -> None:
    """Minutes are kept for a branch meeting that has been published (or has finished); the
    console's form asks this too, to say so beside the field instead of after the save."""
    if not activity.is_meeting:
        raise field_error("activity", _("只有三会一课和党课需要会议记录"))
    if activity.status not in (Status.PUBLISHED, Status.FINISHED):
        raise DomainError("invalid_transition", _("只有已发布或已结束的活动可以记录会议记录"))


@transaction.atomic
def record_minutes(
    *,
    activity: Activity,
    by: User,
    topics: str,
    decisions: str = "",
    content: str = "",
    attachments: Sequence[int] | None = None,
) -> Minutes:
    """会议记录: written once and revised by staff. Attachments are the writer's own uploads or ones
    already attached (a colleague revising keeps the files someone else added)."""
    activity = _lock(activity)
    _require_manager(by, activity)
    check_minutes_open(activity)
    if _blank(topics):
        raise field_error("topics", _("请填写议题"))
    minutes = Minutes.objects.filter(activity=activity).first()
    upload_ids: list[int] | None = None
    if attachments is not None:
        upload_ids = list(dict.fromkeys(int(pk) for pk in attachments))
        if len(upload_ids) > MAX_MINUTES_ATTACHMENTS:
            raise field_error("attachments", _("附件最多 %(n)d 个") % {"n": MAX_MINUTES_ATTACHMENTS})
        allowed = set(uploads_owned_by(by, upload_ids).values_list("pk", flat=True))
        if minutes is not None:
            allowed |= set(minutes.attachments.filter(pk__in=upload_ids).values_list("pk", flat=True))
        for pk in upload_ids:
            if pk not in allowed:
                raise field_error("attachments", _("上传文件 %(pk)s 不存在") % {"pk": pk})
    if minutes is None:
        minutes = Minutes.objects.create(
            activity=activity,
            topics=topics.strip(),
            decisions=(decisions or "").strip(),
            content=(content or "").strip(),
            recorded_by=by,
            updated_by=by,
        )
    else:
        minutes.topics = topics.strip()
        minutes.decisions = (decisions or "").strip()
        minutes.content = (content or "").strip()
        minutes.updated_by = by
        minutes.save()
    if upload_ids is not None:
        minutes.attachments.set(upload_ids)
    return minutes


@transaction.atomic
def attach_photos(*, activity: Activity, by: User, uploads: Sequence[Upload]) -> list[ActivityPhoto]:
    """Staff and participants add their own pictures; adding one again changes nothing."""
    activity = _lock(activity)
    if not (selectors.may_manage(by, activity) or selectors.is_participant(activity, by)):
        raise DomainError("permission_denied", _("只有工作人员和参加者可以上传活动照片"))
    if activity.status not in (Status.PUBLISHED, Status.FINISHED):
        raise DomainError("invalid_transition", _("只有已发布或已结束的活动可以上传照片"))
    if not uploads:
        raise field_error("uploads", _("请选择照片"))
    if len(uploads) > MAX_PHOTOS_PER_REQUEST:
        raise field_error("uploads", _("一次最多 %(n)d 张") % {"n": MAX_PHOTOS_PER_REQUEST})
    for upload in uploads:
        if upload.owner_id != by.pk or upload.kind != Upload.Kind.IMAGE:
            raise field_error("uploads", _("上传文件 %(pk)s 不是您上传的图片") % {"pk": upload.pk})
    already = set(ActivityPhoto.objects.filter(activity=activity).values_list("upload_id", flat=True))
    new = [upload for upload in uploads if upload.pk not in already]
    if len(already) + len(new) > MAX_PHOTOS_PER_ACTIVITY:
        raise field_error("uploads", _("每个活动最多 %(n)d 张照片") % {"n": MAX_PHOTOS_PER_ACTIVITY})
    photos = ActivityPhoto.objects.bulk_create(
        [ActivityPhoto(activity=activity, upload=upload, added_by=by) for upload in new]
    )
    # Each picture is shown to the other participants once WeChat has passed it.
    for photo in photos:
        moderation.submit(
            photo, author=by, community_id=activity.community_id, images=[photo.upload], scene=moderation.SCENE_SOCIAL
        )
    return photos
