"""Reads other apps use to resolve what a caller refers to by id."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db.models import QuerySet

from .models import Upload


def uploads_owned_by(user: Any, ids: Iterable[int] | None = None, *, kind: str | None = None) -> QuerySet[Upload]:
    """The caller's own uploads (optionally only these ids, only this kind); nobody else's.

    Another user's upload id must behave exactly like an id that does not exist, so a caller
    cannot attach, or learn about, files they did not send.
    """
    if user is None or not getattr(user, "is_authenticated", False):
        return Upload.objects.none()
    uploads = Upload.objects.filter(owner=user)
    if ids is not None:
        uploads = uploads.filter(pk__in=list(ids))
    if kind is not None:
        uploads = uploads.filter(kind=kind)
    return uploads.order_by("id")
