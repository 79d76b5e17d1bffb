"""Background work for reports; each task is a thin call into a service and safe to run twice."""

from django.utils import timezone
from django_tasks import task

from . import services


@task()
def produce_quarterly_feedback_reports() -> int:
    # Quarters end at midnight in Shanghai: "today" is the local date, not the UTC one.
    return services.produce_quarterly_reports(today=timezone.localdate())
