"""Provider registries: how a higher app tells a lower one what only it knows.

A lower app declares a typed registry (`report_lines: Registry[ReportLine] = Registry("…")`); a
higher app registers into it from its `AppConfig.ready()`; the lower app asks the registry and never
imports the higher app.

A registry names the keys it cannot do without (`required=`): `manage.py check` (and so every
start, `migrate` and the test run) fails with `core.E001` when one of them has no provider, and
`registry[key]` raises `MissingProvider` naming the registry and the key. `get(key)` is for keys
that may be absent by design (an audience nobody extends answers the staff only).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Generic, TypeVar

P = TypeVar("P")

# Every registry made, so the system check can walk them (they live at module level, made once).
_ALL: list[Registry] = []


class MissingProvider(LookupError):
    """A registry was asked for a key nobody registered: an app is missing or forgot `ready()`."""


class Registry(Generic[P]):
    def __init__(self, name: str, *, required: Iterable[str] = ()) -> None:
        self.name = name
        self.required = tuple(required)
        self._providers: dict[str, P] = {}
        _ALL.append(self)

    def register(self, key: str, provider: P) -> P:
        """Register `provider` under `key`; re-registering replaces (tests swap providers)."""
        self._providers[key] = provider
        return provider

    def unregister(self, key: str) -> None:
        self._providers.pop(key, None)

    def get(self, key: str) -> P | None:
        return self._providers.get(key)

    def __getitem__(self, key: str) -> P:
        try:
            return self._providers[key]
        except KeyError:
            raise MissingProvider(
                f"registry {self.name!r} has no provider {key!r} (registered: {sorted(self._providers)}); "
                "the app that provides it registers it in its AppConfig.ready()"
            ) from None

    def __contains__(self, key: str) -> bool:
        return key in self._providers

    def items(self) -> Iterator[tuple[str, P]]:
        return iter(list(self._providers.items()))

    def missing(self) -> list[str]:
        """The required keys nobody registered."""
        return [key for key in self.required if key not in self._providers]

    def __repr__(self) -> str:
        return f"<Registry {self.name}: {sorted(self._providers)}>"


def all_registries() -> list[Registry]:
    return list(_ALL)
