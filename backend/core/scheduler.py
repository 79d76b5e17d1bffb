"""Timed jobs: the one scheduler process enqueues each job once per slot.

Apps register jobs in `AppConfig.ready()`; each job only enqueues a background task (the work
runs on the workers). A slot is claimed with an atomic `cache.add`, shared through Redis in
production, so a second scheduler started by mistake does not run a slot twice; the tasks
themselves are written to be safe to run twice anyway.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.core.cache import cache
from django.utils import timezone

from .registry import Registry

logger = logging.getLogger(__name__)

periodic_jobs: Registry[Callable[[], PeriodicJob]] = Registry("periodic jobs")


@dataclass(frozen=True)
class PeriodicJob:
    name: str
    every: timedelta
    enqueue: Callable[[], object]

    def slot(self, now: datetime) -> int:
        return int(now.timestamp() // self.every.total_seconds())


def register_job(*, name: str, every: timedelta, enqueue: Callable[[], object]) -> PeriodicJob:
    job = PeriodicJob(name=name, every=every, enqueue=enqueue)
    periodic_jobs.register(name, lambda: job)
    return job


def run_due_jobs(*, now: datetime | None = None) -> list[str]:
    """Enqueue every job whose current slot has not been claimed yet; return the names run."""
    now = now or timezone.now()
    ran: list[str] = []
    for name, provider in periodic_jobs.items():
        job: PeriodicJob = provider()
        key = f"scheduler:{name}:{job.slot(now)}"
        # Keep the claim a little longer than the slot so a late scheduler still sees it.
        if not cache.add(key, now.isoformat(), timeout=int(job.every.total_seconds() * 2) + 60):
            continue
        try:
            job.enqueue()
            ran.append(name)
        except Exception:
            cache.delete(key)
            logger.exception("scheduled job %s failed to enqueue", name)
    return ran
