"""What every console page shares: the staff check, local moments, the page frame."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from backend.accounts.models import User
from backend.accounts.scoping import get_scope

site = admin.site


def account(request: HttpRequest) -> User | None:
    """The signed-in account, None for an anonymous request (the console's login lets none in, but
    the sidebar and the dashboard callback are asked for every page the admin draws)."""
    user = request.user
    return user if isinstance(user, User) else None


def _local_moment(value: Any) -> dt.datetime | None:
    """An ISO moment from the selectors, in local time for the template's date filter."""
    if not value:
        return None
    moment = value if isinstance(value, dt.datetime) else dt.datetime.fromisoformat(str(value))
    return timezone.localtime(moment) if timezone.is_aware(moment) else moment


def _staff_only(request: HttpRequest) -> User:
    """The signed-in staff member (street or community staff, or a superuser); anyone else is refused."""
    user = account(request)
    if user is None or not get_scope(user).is_staff:
        raise PermissionDenied
    return user


def _page(request: HttpRequest, template: str, title: str, **context: Any) -> HttpResponse:
    return render(request, template, {**site.each_context(request), "title": title, **context})
