"""Housekeeping tasks and content checks; each is a thin call and safe to run twice."""

from django.core.management import call_command
from django_tasks import task, task_backends
from django_tasks_db import DatabaseBackend

from . import moderation


@task()
def flush_expired_tokens() -> None:
    # Outstanding and blacklisted refresh tokens past their expiry are dead weight.
    call_command("flushexpiredtokens", verbosity=0)


@task()
def prune_task_results() -> None:
    # Only the database backend keeps results; the immediate one (tests) has nothing to prune.
    if isinstance(task_backends[prune_task_results.backend], DatabaseBackend):
        call_command("prune_db_task_results", verbosity=0)


@task()
def run_content_check(check_id: int) -> None:
    moderation.run_check(check_id)


@task()
def retry_content_checks() -> int:
    # Checks WeChat could not take, and images whose verdict never arrived.
    return moderation.run_due_checks()
