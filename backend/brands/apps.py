from django.apps import AppConfig


class BrandsConfig(AppConfig):
    name = "backend.brands"
    label = "brands"
    verbose_name = "一社区一品牌"

    def ready(self) -> None:
        from datetime import timedelta

        from backend.core.scheduler import register_job

        from .tasks import send_plan_reminders

        # Hourly, so a reminder goes out early on its Shanghai day whatever time the scheduler started.
        register_job(name="brand_plan_reminders", every=timedelta(hours=1), enqueue=send_plan_reminders.enqueue)
