"""Helpers for the notices tests: uploads to attach, and a listener on the real channel layer."""

from __future__ import annotations

import asyncio
import copy
import uuid
from typing import Any

from channels.layers import get_channel_layer

from backend.core.models import Upload
from backend.notices.live import user_group


def make_upload(owner, name: str = "通知附件.pdf") -> Upload:
    return Upload.objects.create(
        owner=owner,
        kind=Upload.Kind.DOCUMENT,
        file=f"uploads/{uuid.uuid4().hex}.pdf",
        content_type="application/pdf",
        size=1024,
        sha256="0" * 64,
        original_name=name,
    )


def use_private_channel_layer(settings) -> None:
    """A fresh layer for the test; on Redis, a prefix no other test run shares."""
    layers = copy.deepcopy(settings.CHANNEL_LAYERS)
    if "CONFIG" in layers["default"]:
        layers["default"]["CONFIG"]["prefix"] = f"t{uuid.uuid4().hex[:10]}"
    settings.CHANNEL_LAYERS = layers


class LayerProbe:
    """Stands in for sockets: joins groups on the configured layer and collects what arrives.

    Everything runs on one event loop of its own: the Redis layer binds a channel's receive
    buffer to the loop that first waited on it.
    """

    def __init__(self) -> None:
        self.layer = get_channel_layer()
        self.loop = asyncio.new_event_loop()
        self.channels: dict[str, str] = {}

    def _run(self, coroutine):
        return self.loop.run_until_complete(coroutine)

    def close(self) -> None:
        async def shutdown() -> None:
            await self.layer.flush()
            if hasattr(self.layer, "close_pools"):
                await self.layer.close_pools()

        self._run(shutdown())
        self.loop.close()

    def join(self, group: str) -> str:
        channel = self._run(self.layer.new_channel())
        self._run(self.layer.group_add(group, channel))
        self.channels[group] = channel
        return channel

    def listen(self, *users) -> None:
        for user in users:
            self.join(user_group(getattr(user, "pk", user)))

    def messages(self, group_or_user: Any, timeout: float = 0.3) -> list[dict[str, Any]]:
        if isinstance(group_or_user, str):
            group = group_or_user
        else:
            group = user_group(getattr(group_or_user, "pk", group_or_user))
        channel = self.channels[group]

        async def drain() -> list[dict[str, Any]]:
            got: list[dict[str, Any]] = []
            while True:
                try:
                    got.append(await asyncio.wait_for(self.layer.receive(channel), timeout))
                except TimeoutError:
                    return got

        return self._run(drain())


async def socket_of_new_user(settings):
    """A notices socket (not yet connected) of a new user, on a channel layer of the test's own."""
    from channels.db import database_sync_to_async
    from channels.testing import WebsocketCommunicator
    from rest_framework_simplejwt.tokens import AccessToken

    from backend.asgi import application
    from tests import factories

    use_private_channel_layer(settings)
    user = await database_sync_to_async(factories.UserFactory)()
    headers = [(b"authorization", f"Bearer {AccessToken.for_user(user)}".encode())]
    return WebsocketCommunicator(application, "/ws/notices/", headers=headers)
