"""Background work for brands; each task is a thin call into a service and safe to run twice."""

from django.utils import timezone
from django_tasks import task

from . import services


@task()
def send_plan_reminders() -> int:
    # Deadlines are Asia/Shanghai calendar dates: "today" is the local date, not the UTC one.
    return services.send_due_reminders(today=timezone.localdate())
