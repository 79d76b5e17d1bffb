"""Provider registries: how a higher app tells a lower one what only it knows.

A lower app declares a registry (`audience_providers = Registry("notice audience")`); a higher
app registers into it from its `AppConfig.ready()`; the lower app asks the registry and never
imports the higher app.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any


class Registry:
    def __init__(self, name: str) -> None:
        self.name = name
        self._providers: dict[str, Callable[..., Any]] = {}

    def register(self, key: str, provider: Callable[..., Any] | None = None):
        """Register `provider` under `key`; usable as a decorator. Re-registering replaces."""

        def decorator(fn: Callable[..., Any]) -> Callable[..., Any]:
            self._providers[key] = fn
            return fn

        return decorator(provider) if provider is not None else decorator

    def unregister(self, key: str) -> None:
        self._providers.pop(key, None)

    def get(self, key: str) -> Callable[..., Any] | None:
        return self._providers.get(key)

    def __contains__(self, key: str) -> bool:
        return key in self._providers

    def items(self) -> Iterator[tuple[str, Callable[..., Any]]]:
        return iter(list(self._providers.items()))

    def __repr__(self) -> str:
        return f"<Registry {self.name}: {sorted(self._providers)}>"
