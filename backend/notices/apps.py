from django.apps import AppConfig


class NoticesConfig(AppConfig):
    name = "backend.notices"
    label = "notices"
    verbose_name = "通知公告"

    def ready(self) -> None:
        from backend.accounts.registry import personal_data_erasers, personal_data_exporters, session_closers
        from backend.core.events import event_sinks

        from . import selectors, services, subscribe  # noqa: F401 - subscribe registers its system check

        event_sinks.register("realtime", services.deliver_event)
        # Authors hear of their content being rejected by WeChat or staff (backend/core/moderation.py).
        from backend.core.moderation import verdict_listeners

        from .content import tell_author_of_rejection

        verdict_listeners.register("notices.author", tell_author_of_rejection)
        # What notices holds about a person: in their export, and erased with their account.
        personal_data_exporters.register("notices", selectors.personal_data)
        personal_data_erasers.register("notices", services.erase_personal_data)
        # Sockets of an account deactivated, deleted or stripped of a role close (docs/realtime.md).
        from .live import close_user_sockets

        session_closers.register("notices.sockets", close_user_sockets)
