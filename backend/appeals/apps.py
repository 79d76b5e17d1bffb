from django.apps import AppConfig


class AppealsConfig(AppConfig):
    name = "backend.appeals"
    label = "appeals"
    verbose_name = "接诉即办"

    def ready(self) -> None:
        from datetime import timedelta

        from backend.accounts.registry import personal_data_erasers, personal_data_exporters
        from backend.core.scheduler import register_job

        from . import selectors, services
        from .tasks import close_unrated_appeals, flag_overdue_appeals

        # The shortest deadline is two hours: a five-minute sweep flags it well within the hour.
        register_job(name="appeals.flag_overdue", every=timedelta(minutes=5), enqueue=flag_overdue_appeals.enqueue)
        register_job(name="appeals.close_unrated", every=timedelta(days=1), enqueue=close_unrated_appeals.enqueue)
        # What appeals holds about a person: in their export, and erased with their account.
        personal_data_exporters.register("appeals", selectors.personal_data)
        personal_data_erasers.register("appeals", services.erase_personal_data)
