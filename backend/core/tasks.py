"""Housekeeping tasks; each is a thin call and safe to run twice."""

from django.core.management import call_command
from django_tasks import task, task_backends
from django_tasks_db import DatabaseBackend


@task()
def flush_expired_tokens() -> None:
    # Outstanding and blacklisted refresh tokens past their expiry are dead weight.
    call_command("flushexpiredtokens", verbosity=0)


@task()
def prune_task_results() -> None:
    # Only the database backend keeps results; the immediate one (tests) has nothing to prune.
    if isinstance(task_backends[prune_task_results.backend], DatabaseBackend):
        call_command("prune_db_task_results", verbosity=0)
