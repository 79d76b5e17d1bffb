"""Telling authors what happened to their content: WeChat or staff rejected it (core/moderation.py)."""

from __future__ import annotations

from django.utils.translation import gettext as _

from backend.core.events import Audience
from backend.core.models import ContentCheck
from backend.core.moderation import describe

from .models import Notice
from .services import create_notice

TITLE_CHARS = 20


def tell_author_of_rejection(check: ContentCheck) -> None:
    """A system notice to the author once content others would have seen is rejected."""
    if not check.holds or check.status != ContentCheck.Status.REJECTED or check.author_id is None:
        return
    what, title = describe(check)
    if len(title) > TITLE_CHARS:
        title = title[:TITLE_CHARS] + "…"
    part = _("图片") if check.kind == ContentCheck.Kind.MEDIA else _("文字")
    body = _("您提交的%(what)s「%(title)s」中的%(part)s未通过内容安全审核, 其他人看不到它。") % {
        "what": what,
        "title": title,
        "part": part,
    }
    if check.decision_note:
        body += _("复核意见: %(note)s") % {"note": check.decision_note}
    create_notice(
        sender=None,
        title=_("内容未通过审核"),
        body=body,
        kind=Notice.Kind.SYSTEM,
        audience=Audience.user(check.author_id),
    )
