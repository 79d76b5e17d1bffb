"""Answers kept in the shared cache beside a version that every write they read changes.

A read that many callers repeat between the writes it depends on (a public page of the tree, a
leaderboard's page, a community's activities) is kept under the version current when it was
computed, and served again while that version stands: one round trip to the cache (the versions
and the entries in one MGET) instead of the statements.

A `Versioned` has one version for all its entries and, where its entries belong to parts (a
community's pages), one more per part: a write to one community's activities is a new version of
that community's pages alone. Every save or delete of a watched model changes the versions it
touches (its `parts` function says which: none, some parts, or every part) twice: at once, so
that the writer's own transaction (and a test's) no longer reads an entry from before its write,
and again when the write commits, so that an entry computed by another process before the commit,
and kept after the first change, is not served. Nothing is kept by a connection that has such a
write not yet committed: what it would compute includes a write that may still roll back, and no
change would follow a rollback. Writes that send no signals (`QuerySet.update`, `bulk_create`, a
statement written once) call `touch()` themselves; the entries expire after `TIMEOUT` anyway,
the bound on anything missed.
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from django.core.cache import cache
from django.db import DEFAULT_DB_ALIAS, connections, models, transaction
from django.db.models.signals import post_delete, post_save

TIMEOUT = 300  # seconds

EVERY_PART = None
# Which versions a saved or deleted instance changes: (instance, created) -> the parts it touches
# (empty: none; EVERY_PART: the version all entries share). `created` is None for a delete.
Parts = Callable[[Any, bool | None], Iterable[str] | None]
Watched = type[models.Model] | tuple[type[models.Model], Parts]


def _every_part(instance: Any, created: bool | None) -> None:
    return EVERY_PART


@dataclass(frozen=True)
class Found:
    part: str | None
    # The shared version and `part`'s, as read; None for one that is missing (expired, or never made).
    versions: tuple[str | None, ...]
    entries: dict[str, Any]  # the entries kept under those versions, by the caller's key


class Versioned:
    def __init__(self, name: str, watched: Iterable[Watched]) -> None:
        self.name = name
        for entry in watched:
            model, parts = entry if isinstance(entry, tuple) else (entry, _every_part)
            self._watch(model, parts)

    def _watch(self, model: type[models.Model], parts: Parts) -> None:
        def saved(instance: Any, created: bool, **_: Any) -> None:
            self._touch_parts(parts(instance, created))

        def deleted(instance: Any, **_: Any) -> None:
            self._touch_parts(parts(instance, None))

        uid = f"versioned-{self.name}-{model._meta.label}"
        post_save.connect(saved, sender=model, weak=False, dispatch_uid=f"{uid}-s")
        post_delete.connect(deleted, sender=model, weak=False, dispatch_uid=f"{uid}-d")

    def _touch_parts(self, parts: Iterable[str] | None) -> None:
        if parts is EVERY_PART:
            self.touch()
        else:
            for part in set(parts):
                self.touch(part)

    def _version_key(self, part: str | None) -> str:
        return f"versioned:{self.name}:version" if part is None else f"versioned:{self.name}:{part}:version"

    def _key(self, key: str) -> str:
        return f"versioned:{self.name}:{key}"

    def touch(self, part: str | None = EVERY_PART) -> None:
        """A write to what the entries show: a new version now and another when it commits."""
        self.changed(part)
        if connections[DEFAULT_DB_ALIAS].in_atomic_block:
            transaction.on_commit(functools.partial(self.changed, part), robust=True)

    def changed(self, part: str | None = EVERY_PART) -> None:
        """A new version of `part` (or of every part): its entries are read again on their next use."""
        cache.set(self._version_key(part), uuid.uuid4().hex, TIMEOUT)

    def find(self, keys: Sequence[str], *, part: str | None = None) -> Found:
        """The version now (the shared one, and `part`'s) and those of `keys` kept under it."""
        version_keys = [self._version_key(None)] + ([] if part is None else [self._version_key(part)])
        found = cache.get_many([*version_keys, *(self._key(key) for key in keys)])
        versions = tuple(found.get(key) for key in version_keys)
        entries = {}
        if None not in versions:
            for key in keys:
                entry = found.get(self._key(key))
                if entry is not None and entry[0] == versions:
                    entries[key] = entry[1]
        return Found(part=part, versions=versions, entries=entries)

    def _uncommitted_change(self, using: str, part: str | None) -> bool:
        # Entries of run_on_commit: (savepoint ids, callback, robust); touch() registers a partial of
        # `changed`, known here by its name: the versions are the name's, whichever object changes them.
        return any(
            isinstance(callback, functools.partial)
            and getattr(callback.func, "__name__", None) == "changed"
            and getattr(getattr(callback.func, "__self__", None), "name", None) == self.name
            and callback.args[0] in (EVERY_PART, part)
            for callback in (entry[1] for entry in connections[using].run_on_commit)
        )

    def keep(self, found: Found, entries: Mapping[str, Any], *, using: str = DEFAULT_DB_ALIAS) -> None:
        """Keep `entries`, computed after `found` was read, under its version (a new one if it had none)."""
        if not entries or self._uncommitted_change(using, found.part):
            return
        parts = [None] if found.part is None else [None, found.part]
        versions = []
        for part, version in zip(parts, found.versions, strict=True):
            if version is None:
                version = uuid.uuid4().hex
                if not cache.add(self._version_key(part), version, TIMEOUT):
                    # Another process started it first, maybe for a write after this read: keep nothing.
                    return
            versions.append(version)
        cache.set_many({self._key(key): (tuple(versions), value) for key, value in entries.items()}, TIMEOUT)
