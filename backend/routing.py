"""WebSocket routes, served by daphne under /ws/."""

from backend.notices.routing import websocket_urlpatterns as notices_urlpatterns

websocket_urlpatterns: list = [*notices_urlpatterns]
