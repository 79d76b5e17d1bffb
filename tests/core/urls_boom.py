"""The project's URLs plus one view that fails, to see what an unexpected error looks like."""

from django.urls import path
from rest_framework.decorators import api_view, permission_classes
from rest_framework.permissions import AllowAny

from backend.urls import urlpatterns as project_urlpatterns


@api_view(["GET"])
@permission_classes([AllowAny])
def boom(request):
    raise RuntimeError("secret internal detail")


urlpatterns = [path("boom/", boom), *project_urlpatterns]
handler404 = "backend.core.views.not_found"
handler500 = "backend.core.views.server_error"
