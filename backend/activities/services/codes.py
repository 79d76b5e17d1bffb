"""The rotating check-in code the venue's screen shows, and its verification."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import segno
from django.conf import settings
from django.core import signing
from django.utils import timezone
from django.utils.translation import gettext as _

from backend.accounts.models import User
from backend.core.errors import DomainError

from ..models import Activity
from ._shared import Status, _require_manager

TOKEN_SALT = "activities.checkin"


@dataclass(frozen=True)
class CheckinCode:
    token: str
    url: str
    issued_at: datetime
    refresh_at: datetime  # when the next code appears
    expires_at: datetime  # when this one stops being accepted
    period_seconds: int
    qr_png: str  # a data: URI, shown as-is by <img> and the mini-program's <image>


def _period() -> int:
    return max(1, int(settings.CHECKIN_CODE_PERIOD_SECONDS))


def _slot(now: datetime) -> int:
    return int(now.timestamp() // _period())


def _signer() -> signing.Signer:
    # "." keeps the token URL-safe: the rest is digits and base64url.
    return signing.Signer(salt=TOKEN_SALT, sep=".", algorithm="sha256")


def checkin_token(activity_id: int, slot: int) -> str:
    return _signer().sign(f"{activity_id}.{slot}")


def _moment(slot: int) -> datetime:
    return datetime.fromtimestamp(slot * _period(), tz=timezone.get_current_timezone())


def issue_checkin_code(*, activity: Activity, by: User, now: datetime | None = None) -> CheckinCode:
    """The code the venue's screen shows now: it changes every period and is accepted for two."""
    _require_manager(by, activity)
    if activity.status != Status.PUBLISHED:
        raise DomainError("not_open", _("活动未发布或已结束, 不能签到"))
    now = now or timezone.now()
    slot = _slot(now)
    token = checkin_token(activity.pk, slot)
    url = f"{settings.CHECKIN_QR_URL_PREFIX}{token}"
    qr = segno.make(url, error="m")
    return CheckinCode(
        token=token,
        url=url,
        issued_at=now,
        refresh_at=_moment(slot + 1),
        expires_at=_moment(slot + 2),
        period_seconds=_period(),
        qr_png=qr.png_data_uri(scale=8, border=2),
    )


def _token_from(text: str) -> str:
    """The token itself, also when the client sends the whole scanned URL."""
    text = (text or "").strip()
    if "/" in text:
        text = text.split("?", 1)[0].rstrip("/").rsplit("/", 1)[-1]
    return text


def verify_token(*, activity: Activity, token: str, now: datetime) -> None:
    try:
        value = _signer().unsign(_token_from(token))
        activity_text, slot_text = value.split(".")
        activity_id, slot = int(activity_text), int(slot_text)
    except (signing.BadSignature, ValueError):
        raise DomainError("invalid_token", _("签到码无效, 请重新扫码")) from None
    current = _slot(now)
    if activity_id != activity.pk or slot not in (current, current - 1):
        raise DomainError("invalid_token", _("签到码已过期, 请扫描现场最新的二维码"))
