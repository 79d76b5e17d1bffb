"""The check-in screen: the rotating QR code full-screen with the live count, and the socket token its
count needs.
"""

from __future__ import annotations

import datetime as dt
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib import admin
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.middleware.csrf import get_token
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST
from rest_framework_simplejwt.tokens import AccessToken

from backend.activities import selectors as activity_selectors
from backend.activities import services as activity_services
from backend.activities.models import Activity
from backend.core.errors import DomainError

from .pages import _page, _staff_only

site = admin.site


# The check-in screen ------------------------------------------------------------------------------


def _manageable(request: HttpRequest, activity_id: int) -> Activity:
    # Outside the user's scope reads as absent, as everywhere in the console and the API.
    activity = (
        activity_selectors.manageable_activities(request.user)
        .select_related("community")
        .filter(pk=activity_id)
        .first()
    )
    if activity is None:
        raise Http404("活动不存在")
    return activity


def checkin_index(request: HttpRequest) -> HttpResponse:
    """Published activities in scope, nearest first: the way to their check-in screens."""
    _staff_only(request)
    now = timezone.now()
    activities = (
        activity_selectors.manageable_activities(request.user)
        .filter(status=Activity.Status.PUBLISHED, ends_at__gte=now - timedelta(hours=3))
        .select_related("community")
        .order_by("starts_at")[:100]
    )
    return _page(request, "console/checkin_index.html", "签到屏", activities=activities)


def _code_json(code: activity_services.CheckinCode) -> dict[str, Any]:
    return {
        "token": code.token,
        "url": code.url,
        "issued_at": code.issued_at.isoformat(),
        "refresh_at": code.refresh_at.isoformat(),
        "expires_at": code.expires_at.isoformat(),
        "period_seconds": code.period_seconds,
        "qr_png": code.qr_png,
    }


@never_cache
def checkin_screen(request: HttpRequest, activity_id: int) -> HttpResponse:
    """The rotating QR code full-screen for a projector or a staff phone, with the live count."""
    user = _staff_only(request)
    activity = _manageable(request, activity_id)
    try:
        code = activity_services.issue_checkin_code(activity=activity, by=user)
    except DomainError as exc:
        return _page(request, "console/checkin_closed.html", "签到屏", activity=activity, reason=str(exc.detail))
    config = {
        "activityId": activity.pk,
        "codeUrl": reverse("activity-checkin-code", args=[activity.pk]),
        "countsUrl": reverse("console-checkin-counts", args=[activity.pk]),
        "tokenUrl": reverse("console-socket-token"),
        "socketPath": "/ws/notices/",
        "loginUrl": reverse("admin:login") + "?next=" + request.path,
        "csrfToken": get_token(request),
        "code": _code_json(code),
        "counts": activity_selectors.attendance_counts(activity.pk),
    }
    return render(request, "console/checkin_screen.html", {"activity": activity, "config": config})


@never_cache
def checkin_counts(request: HttpRequest, activity_id: int) -> JsonResponse:
    """The figures once, for the screen to catch up after its socket was away."""
    _staff_only(request)
    activity = _manageable(request, activity_id)
    return JsonResponse(activity_selectors.attendance_counts(activity.pk))


@require_POST
@never_cache
def socket_token(request: HttpRequest) -> JsonResponse:
    """A short-lived access token for the notices socket (`?token=`), for the signed-in console user.

    A page cannot read its session cookie into a WebSocket URL, and the socket takes only JWTs.
    POST with the CSRF token, so another site cannot have a browser fetch one. Never logged.
    """
    user = _staff_only(request)
    token = AccessToken.for_user(user)
    token.set_exp(lifetime=timedelta(minutes=settings.CONSOLE_SOCKET_TOKEN_MINUTES))
    expires_at = dt.datetime.fromtimestamp(token["exp"], tz=dt.UTC)
    return JsonResponse({"token": str(token), "expires_at": expires_at.isoformat()})
