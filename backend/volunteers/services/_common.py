"""What every volunteers service shares: the staff check, "nobody reviews their own hours", blanks."""

from __future__ import annotations

from django.utils.translation import gettext as _

from backend.accounts.models import User
from backend.accounts.scoping import can_act_on_community
from backend.core.errors import DomainError

from ..models import ServiceRecord

Status = ServiceRecord.Status
Source = ServiceRecord.Source


def _blank(text: str | None) -> bool:
    return not (text or "").strip()


def _require_staff_of(by: User | None, community_id: int) -> None:
    if not can_act_on_community(by, community_id):
        raise DomainError("permission_denied", _("需要组织社区工作人员权限"))


def _require_not_own(record: ServiceRecord, by: User) -> None:
    # Whoever records certifies: nobody certifies their own hours.
    if record.volunteer.user_id == by.pk:
        raise DomainError("permission_denied", _("不能审核或更正本人的服务记录"))
