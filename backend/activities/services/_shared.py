"""What the activities services share: who may act as staff, the row lock, the notices and the
live counts that follow a change."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from backend.accounts.models import User
from backend.accounts.scoping import can_act_on_community
from backend.communities.models import Community
from backend.core.errors import DomainError
from backend.core.events import Audience
from backend.notices import services as notice_services
from backend.notices.models import Notice

from .. import live
from ..models import Activity

Status = Activity.Status


def _blank(text: str | None) -> bool:
    return not (text or "").strip()


def _require_manager(user: User | None, activity: Activity | Community) -> None:
    community_id = activity.pk if isinstance(activity, Community) else activity.community_id
    if not can_act_on_community(user, community_id):
        raise DomainError("permission_denied", _("需要本社区工作人员权限"))


def _lock(activity: Activity) -> Activity:
    return Activity.objects.select_for_update().get(pk=activity.pk)


def activity_event(activity: Activity) -> dict[str, Any]:
    return {
        "id": activity.pk,
        "title": activity.title,
        "community_id": activity.community_id,
        "category": activity.category,
        "status": activity.status,
        "starts_at": activity.starts_at,
        "ends_at": activity.ends_at,
        "place": activity.place,
    }


def _notify(*, audience: Audience, title: str, body: str) -> None:
    """A durable notice from the system (the inbox keeps it; the socket only hurries it along)."""
    if not audience.ids:
        return
    notice_services.create_notice(
        sender=None, title=title[:100], body=body, kind=Notice.Kind.ACTIVITY, audience=audience
    )


def _local(moment: datetime) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M")


def _announce_attendance(activity_id: int) -> None:
    """`attendance.changed` to the staff watching, once the change has committed (see live.py)."""
    # robust: the write has committed; a failure here must not turn its answer into an error.
    transaction.on_commit(lambda: live.attendance_changed(activity_id), robust=True)
