"""Background work of the members app; each task is a thin call into a service and safe to run twice."""

from django_tasks import task

from . import services


@task()
def auto_confirm_demands() -> int:
    return services.auto_confirm_due_demands()
