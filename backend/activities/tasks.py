"""Background work of the activities app; each task is a thin call into a service and safe to run twice."""

from django_tasks import task

from . import live, services


@task()
def finish_due_activities() -> int:
    return services.finish_due_activities()


@task()
def award_attendance_points(activity_id: int, user_id: int) -> bool:
    return services.award_attendance_points(activity_id=activity_id, user_id=user_id)


@task()
def send_attendance_counts(activity_id: int) -> None:
    live.send_trailing(activity_id)
