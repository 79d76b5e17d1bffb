"""Background work of the appeals app; each task is a thin call into a service and safe to run twice."""

from django_tasks import task

from . import services


@task()
def flag_overdue_appeals() -> int:
    return services.flag_overdue()


@task()
def close_unrated_appeals() -> int:
    return services.close_unrated()
