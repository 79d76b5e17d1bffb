"""What every console page shares: the staff check, local moments, the page frame."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from backend.accounts.scoping import (
    get_scope,
)

site = admin.site

site = admin.site


def _local_moment(value: Any) -> dt.datetime | None:
    """An ISO moment from the selectors, in local time for the template's date filter."""
    if not value:
        return None
    moment = value if isinstance(value, dt.datetime) else dt.datetime.fromisoformat(str(value))
    return timezone.localtime(moment) if timezone.is_aware(moment) else moment


def _staff_only(request: HttpRequest) -> None:
    if not get_scope(request.user).is_staff:
        raise PermissionDenied


def _page(request: HttpRequest, template: str, title: str, **context: Any) -> HttpResponse:
    return render(request, template, {**site.each_context(request), "title": title, **context})
