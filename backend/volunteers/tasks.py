"""Background work of the volunteers app; each task is a thin call into a service and safe to run twice."""

from django_tasks import task

from . import services


@task()
def check_effective_hours() -> int:
    return services.check_effective_hours()


@task()
def sweep_missed_checkouts() -> int:
    return services.sweep_missed_checkouts()
