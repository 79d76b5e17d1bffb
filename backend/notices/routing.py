"""WebSocket routes of the notices app, mounted under /ws/ by backend/routing.py."""

from django.urls import path

from .consumers import NoticeConsumer

websocket_urlpatterns = [
    path("ws/notices/", NoticeConsumer.as_asgi(), name="ws-notices"),
]
