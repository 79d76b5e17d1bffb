from django.apps import AppConfig


class NoticesConfig(AppConfig):
    name = "backend.notices"
    label = "notices"
    verbose_name = "通知公告"

    def ready(self) -> None:
        from backend.core.events import event_sinks

        from . import services, subscribe  # noqa: F401 - subscribe registers its system check

        event_sinks.register("realtime", services.deliver_event)
