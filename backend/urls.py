from django.conf import settings
from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView

from backend.core import media
from backend.core import views as core_views
from backend.core.resolvers import indexed_include

api_v1 = [
    # First: check-in is the busiest path. Under api/v1/ only the includes that can match a path's first
    # segment are tried (backend/core/resolvers.py), but in this order.
    path("", include("backend.activities.urls")),
    path("", include("backend.core.urls")),
    path("", include("backend.accounts.urls")),
    path("", include("backend.communities.urls")),
    path("", include("backend.members.urls")),
    path("", include("backend.notices.urls")),
    path("", include("backend.brands.urls")),
    path("", include("backend.red_property.urls")),
    path("", include("backend.appeals.urls")),
    path("", include("backend.volunteers.urls")),
    path("", include("backend.reports.urls")),
]

urlpatterns = [
    indexed_include("api/v1/", api_v1),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="api-docs"),
    path("api/redoc/", SpectacularRedocView.as_view(url_name="schema"), name="api-redoc"),
    # The console's own pages (check-in screen, imports), before the admin's catch-all.
    path("admin/console/", include("backend.console.urls")),
    path("admin/", admin.site.urls),
    path("healthz", core_views.healthz, name="healthz"),
    # Every stored file, for a signed link only (in development and behind nginx alike).
    path("media/<path:path>", media.serve, name="media"),
    path("", RedirectView.as_view(url="/admin/", permanent=False)),
]


if settings.BENCH_CEILING:
    urlpatterns += [path("bench/ceiling/", include("bench.ceiling.urls"))]

handler400 = "backend.core.views.bad_request"
handler403 = "backend.core.views.permission_denied"
handler404 = "backend.core.views.not_found"
handler500 = "backend.core.views.server_error"
