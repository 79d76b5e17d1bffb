"""The check of the hours ledger: records whose stored effective values differ from what their
reported times and corrections say (run daily, and by `manage.py check_volunteer_hours`)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db.models import OuterRef, Subquery

from ..models import RecordCorrection, ServiceRecord, hours_between


@dataclass(frozen=True)
class Mismatch:
    record_id: int
    stored: tuple[Any, Any, Decimal]
    expected: tuple[Any, Any, Decimal]


def effective_value_mismatches(*, chunk_size: int = 2000) -> Iterator[Mismatch]:
    """Records whose stored effective times and hours differ from their ledger.

    The ledger is the reported times and the append-only corrections: the latest correction's
    values, else the reported times with the hours recomputed from them.
    """
    latest = RecordCorrection.objects.filter(record_id=OuterRef("pk")).order_by("-id")
    rows = (
        ServiceRecord.objects.order_by("pk")
        .annotate(
            c_started=Subquery(latest.values("started_at")[:1]),
            c_ended=Subquery(latest.values("ended_at")[:1]),
            c_hours=Subquery(latest.values("hours")[:1]),
        )
        .values_list(
            "pk",
            "reported_started_at",
            "reported_ended_at",
            "started_at",
            "ended_at",
            "hours",
            "c_started",
            "c_ended",
            "c_hours",
        )
    )
    for pk, rep_start, rep_end, start, end, hours, c_start, c_end, c_hours in rows.iterator(chunk_size=chunk_size):
        if c_start is not None:
            expected = (c_start, c_end, c_hours)
        else:
            expected = (rep_start, rep_end, hours_between(rep_start, rep_end))
        stored = (start, end, hours)
        if stored != expected or expected[2] != hours_between(expected[0], expected[1]):
            yield Mismatch(record_id=pk, stored=stored, expected=expected)
