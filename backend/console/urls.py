"""The console's own pages, mounted under /admin/console/ (backend/urls.py), each behind its login."""

from django.contrib import admin
from django.urls import path

from backend.core.console import console_view

from .attendance import attendance_page, record_attendance
from .checkin import checkin_counts, checkin_index, checkin_screen, socket_token
from .imports.views import import_index, import_view
from .street import street_view

site = admin.site

urlpatterns = [
    path("checkin/", site.admin_view(console_view(checkin_index)), name="console-checkin-index"),
    path("checkin/<int:activity_id>/", site.admin_view(console_view(checkin_screen)), name="console-checkin-screen"),
    path(
        "checkin/<int:activity_id>/counts/",
        site.admin_view(console_view(checkin_counts)),
        name="console-checkin-counts",
    ),
    path("attendance/<int:activity_id>/", site.admin_view(console_view(attendance_page)), name="console-attendance"),
    path(
        "attendance/<int:activity_id>/record/",
        site.admin_view(console_view(record_attendance)),
        name="console-attendance-record",
    ),
    path("socket-token/", site.admin_view(console_view(socket_token)), name="console-socket-token"),
    path("street/", site.admin_view(console_view(street_view)), name="console-street"),
    path("import/", site.admin_view(console_view(import_index)), name="console-import-index"),
    path("import/<slug:slug>/", site.admin_view(console_view(import_view)), name="console-import"),
]
