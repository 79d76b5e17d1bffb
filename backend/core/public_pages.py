"""Pages of public lists kept in the shared cache until a row they show changes (core.versioned).

The administrative tree (streets, communities, grids, places) is what the mini-program reads
before anyone signs in, the same pages for everyone, and it changes a few times a year. So a page's
answer is kept beside a version of the tree, and served again while the version stands. Writes that
send no signals (`QuerySet.update`, `bulk_create`) are not used on these models. Only pages asked
for with the parameters the list knows (not a search, not an ordering: their variety is unbounded)
are kept.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from typing import Any

from django.db import models
from rest_framework.request import Request

from .versioned import Versioned


class PublicPages:
    def __init__(self, name: str, watched: Iterable[type[models.Model]]) -> None:
        self.versioned = Versioned(f"public-pages:{name}", watched)

    def _key(self, request: Request) -> str:
        return hashlib.sha256(request.build_absolute_uri().encode()).hexdigest()[:32]

    def page(self, request: Request, allowed: Iterable[str], compute: Callable[[], Any]) -> Any:
        """The page's data, from the cache while the version stands, else `compute()`'s, kept.

        `allowed` names the query parameters a kept page may have; any other and the page is computed
        and not kept. `compute` raises for a page that does not exist (kept: nothing)."""
        if not set(request.query_params).issubset(allowed):
            return compute()
        key = self._key(request)
        found = self.versioned.find([key])
        if key in found.entries:
            return found.entries[key]
        data = compute()
        self.versioned.keep(found, {key: data})
        return data
