"""Helpers the members services share: the staff check, blank text, a registration's state step."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone
from django.utils.translation import gettext as _

from backend.accounts.models import User
from backend.accounts.scoping import can_act_on_community
from backend.core.errors import DomainError

from ..models import (
    MemberRegistration,
    RegistrationStep,
)


def _require_staff_of(user: User | None, community_id: int, message: str | None = None) -> None:
    if not can_act_on_community(user, community_id):
        raise DomainError("permission_denied", message or _("需要本社区工作人员权限"))


def _blank(text: str | None) -> bool:
    return not (text or "").strip()


def _move(
    registration: MemberRegistration,
    *,
    to: str,
    by: User | None,
    reason: str = "",
    at: dt.datetime | None = None,
) -> None:
    """Set the registration's new state (the caller saves it) and append the step to its history."""
    RegistrationStep.objects.create(
        registration=registration,
        from_status=registration.status if registration.pk else "",
        to_status=to,
        actor=by,
        reason=reason,
        at=at or timezone.now(),
    )
    registration.status = to
