"""The console's own reads: which imports still wait to be put right."""

from __future__ import annotations

from django.db.models import Exists, OuterRef, Q, QuerySet

from .models import ImportRun


def imports_needing_attention(runs: QuerySet[ImportRun]) -> QuerySet[ImportRun]:
    """Of `runs` (a user's scoped list), the latest run of each kind into each place when it had
    errors: a sheet not yet put right. Any later run of the same kind into the same place without
    errors (a corrected upload, a confirmed save) settles it. A place is a community, or a street
    for the street's own registers (no community)."""
    later_into_community = runs.filter(kind=OuterRef("kind"), community=OuterRef("community"), id__gt=OuterRef("id"))
    later_into_street = runs.filter(
        kind=OuterRef("kind"), street=OuterRef("street"), community__isnull=True, id__gt=OuterRef("id")
    )
    return runs.filter(error_count__gt=0).filter(
        (Q(community__isnull=False) & ~Exists(later_into_community))
        | (Q(community__isnull=True) & ~Exists(later_into_street))
    )
