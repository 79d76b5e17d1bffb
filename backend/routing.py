"""WebSocket routes, served by daphne under /ws/."""

websocket_urlpatterns: list = []
