from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "backend.core"
    label = "core"
    verbose_name = "基础"

    def ready(self) -> None:
        from datetime import timedelta

        from django.core import checks

        from .checks import providers_registered
        from .scheduler import register_job
        from .tasks import flush_expired_tokens, prune_task_results, retry_content_checks

        register_job(name="flush_expired_tokens", every=timedelta(days=1), enqueue=flush_expired_tokens.enqueue)
        register_job(name="prune_task_results", every=timedelta(days=1), enqueue=prune_task_results.enqueue)
        register_job(name="retry_content_checks", every=timedelta(minutes=5), enqueue=retry_content_checks.enqueue)
        checks.register(providers_registered)
