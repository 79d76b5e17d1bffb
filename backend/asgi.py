"""ASGI: WebSocket → origin check → JWT auth → router; HTTP too, for `make run` (one daphne)."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backend.settings")

django_asgi_app = get_asgi_application()

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402

from backend.core.daphne_forms import leave_form_bodies_to_django  # noqa: E402
from backend.notices.auth import JWTAuthMiddleware  # noqa: E402
from backend.notices.origin import OriginValidator  # noqa: E402
from backend.routing import websocket_urlpatterns  # noqa: E402

leave_form_bodies_to_django()

application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        "websocket": OriginValidator(JWTAuthMiddleware(URLRouter(websocket_urlpatterns))),
    }
)
