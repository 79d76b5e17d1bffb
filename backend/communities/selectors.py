from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from backend.core.scoping import scope_filter

from .models import Estate


def estates_for(user: Any) -> QuerySet[Estate]:
    """Every signed-in user may pick an estate (to file an appeal, to say where they live)."""
    return Estate.objects.select_related("community").order_by("id")


def editable_estates(user: Any) -> QuerySet[Estate]:
    """Estates the user may change: those of the communities in their staff scope."""
    return scope_filter(estates_for(user), user, community="community", street="community__street")
