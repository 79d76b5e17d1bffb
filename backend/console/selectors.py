"""The console's own reads: which imports still wait to be put right."""

from __future__ import annotations

from django.db.models import Exists, OuterRef, QuerySet, Value
from django.db.models.functions import Coalesce

from .models import ImportRun


def _placed(runs: QuerySet[ImportRun]) -> QuerySet[ImportRun]:
    # A street's own register has no community: 0 stands for "the street itself" so the two kinds
    # of place compare alike.
    return runs.annotate(place=Coalesce("community_id", Value(0)))


def imports_needing_attention(runs: QuerySet[ImportRun]) -> QuerySet[ImportRun]:
    """Of `runs` (a user's scoped list), the latest run of each kind into each place when it had
    errors: a sheet not yet put right. Any later run of the same kind into the same place without
    errors (a corrected upload, a confirmed save) settles it."""
    later = _placed(runs).filter(
        kind=OuterRef("kind"), street_id=OuterRef("street_id"), place=OuterRef("place"), id__gt=OuterRef("id")
    )
    return _placed(runs).filter(error_count__gt=0).exclude(Exists(later))
