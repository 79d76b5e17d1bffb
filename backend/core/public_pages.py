"""Pages of public lists kept in the shared cache until a row they show changes.

The administrative tree (streets, communities, grids, places) is what the mini-program reads
before anyone signs in, the same pages for everyone, and it changes a few times a year. So a page's
answer is kept in the cache beside a version of the tree, and served again while the version
stands: one round trip to the cache (both keys in one MGET) instead of the filter, the page query
and the rows.

Every save or delete of a model the pages show changes the version, once at once (so the writer's
own transaction, and a test's, reads its write) and once more when the write commits (so a page
read from before the commit, and stored after the first change, is not served). Writes that send
no signals (`QuerySet.update`, `bulk_create`) are not used on these models; the entries expire
anyway after `TIMEOUT`, the bound on anything missed. Only pages asked for with the parameters
the list knows (not a search, not an ordering: their variety is unbounded) are kept.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable, Iterable
from typing import Any

from django.core.cache import cache
from django.db import models, transaction
from django.db.models.signals import post_delete, post_save
from rest_framework.request import Request

TIMEOUT = 300  # seconds


class PublicPages:
    def __init__(self, name: str, watched: Iterable[type[models.Model]]) -> None:
        self.name = name
        self._version_key = f"public-pages:{name}:version"
        for model in watched:
            post_save.connect(self._changed, sender=model, weak=False, dispatch_uid=f"{name}-{model._meta.label}-s")
            post_delete.connect(self._changed, sender=model, weak=False, dispatch_uid=f"{name}-{model._meta.label}-d")

    def _changed(self, **_: Any) -> None:
        self.changed()
        transaction.on_commit(self.changed, robust=True)

    def changed(self) -> None:
        cache.set(self._version_key, uuid.uuid4().hex, TIMEOUT)

    def _key(self, request: Request) -> str:
        digest = hashlib.sha256(request.build_absolute_uri().encode()).hexdigest()[:32]
        return f"public-pages:{self.name}:{digest}"

    def page(self, request: Request, allowed: Iterable[str], compute: Callable[[], Any]) -> Any:
        """The page's data, from the cache while the version stands, else `compute()`'s, kept.

        `allowed` names the query parameters a kept page may have; any other and the page is computed
        and not kept. `compute` raises for a page that does not exist (kept: nothing)."""
        if not set(request.query_params).issubset(allowed):
            return compute()
        key = self._key(request)
        found = cache.get_many([self._version_key, key])
        version, entry = found.get(self._version_key), found.get(key)
        if version is not None and entry is not None and entry[0] == version:
            return entry[1]
        if version is None:
            version = uuid.uuid4().hex
            if not cache.add(self._version_key, version, TIMEOUT):
                # Another process started the version first: keep nothing under a version not in use.
                return compute()
        data = compute()
        cache.set(key, (version, data), TIMEOUT)
        return data
