from django.apps import AppConfig


class ReportsConfig(AppConfig):
    name = "backend.reports"
    label = "reports"
    verbose_name = "报表与统计"

    def ready(self) -> None:
        from datetime import timedelta

        from backend.core.scheduler import register_job
        from backend.members.registry import report_lines

        from .answers import member_report_line
        from .tasks import produce_quarterly_feedback_reports

        report_lines.register("line", member_report_line)

        # Hourly: the quarter's reports go out within the hour after it ends, and a unit whose liaison
        # is appointed later still gets its report on the next run (the task does nothing otherwise).
        register_job(
            name="reports.quarterly_feedback",
            every=timedelta(hours=1),
            enqueue=produce_quarterly_feedback_reports.enqueue,
        )
