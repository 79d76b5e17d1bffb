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
        _bound_model_datetimes()


def _bound_model_datetimes() -> None:
    """Every ModelSerializer takes a model's datetime through BoundedDateTimeField: one place for
    all of them, so a field added to a model cannot take year 1 and answer a 500."""
    from django.db import models
    from rest_framework import serializers

    from .fields import BoundedDateTimeField

    serializers.ModelSerializer.serializer_field_mapping = {
        **serializers.ModelSerializer.serializer_field_mapping,
        models.DateTimeField: BoundedDateTimeField,
    }
