from django.apps import AppConfig


class MembersConfig(AppConfig):
    name = "backend.members"
    label = "members"
    verbose_name = "党员双报到"

    def ready(self) -> None:
        from datetime import timedelta

        from backend.accounts.registry import personal_data_erasers, personal_data_exporters
        from backend.core.events import register_audience_provider
        from backend.core.scheduler import register_job

        from . import selectors, services
        from .tasks import auto_confirm_demands

        # Registered members belong to their community's (street's, grid's) notice audience.
        register_audience_provider("community", "members", selectors.community_user_ids)
        register_audience_provider("street", "members", selectors.street_user_ids)
        register_audience_provider("grid", "members", selectors.grid_user_ids)
        register_job(
            name="members.auto_confirm_demands", every=timedelta(hours=1), enqueue=auto_confirm_demands.enqueue
        )
        # What members holds about a person: in their export, and erased with their account.
        personal_data_exporters.register("members", selectors.personal_data)
        personal_data_erasers.register("members", services.erase_personal_data)
