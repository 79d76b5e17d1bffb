from django.apps import AppConfig


class VolunteersConfig(AppConfig):
    name = "backend.volunteers"
    label = "volunteers"
    verbose_name = "志愿服务"

    def ready(self) -> None:
        from datetime import timedelta

        from backend.accounts.registry import personal_data_erasers, personal_data_exporters
        from backend.activities import registry as activity_registry
        from backend.core.events import register_audience_provider
        from backend.core.scheduler import register_job

        from . import selectors, services
        from .tasks import check_effective_hours, sweep_missed_checkouts

        # Volunteers hear their community's (and street's) notices like its residents do.
        register_audience_provider("community", "volunteers", selectors.community_volunteer_user_ids)
        register_audience_provider("street", "volunteers", selectors.street_volunteer_user_ids)
        # Activities published for "volunteers": who may take part, and who hears of it.
        activity_registry.audience_members.register("volunteers", selectors.is_activity_volunteer)
        activity_registry.audience_user_ids.register("volunteers", selectors.activity_volunteer_user_ids)
        # A check-out of a counts_as_service activity becomes a pending service record.
        activity_registry.checkout_listeners.register("volunteers", services.on_checkout)
        # And if that listener never ran (a crash right after the check-out's commit), the sweep makes it.
        register_job(
            name="volunteers.sweep_checkouts", every=timedelta(hours=1), enqueue=sweep_missed_checkouts.enqueue
        )
        register_job(name="volunteers.check_hours", every=timedelta(days=1), enqueue=check_effective_hours.enqueue)
        # What volunteers holds about a person: in their export, and erased with their account.
        personal_data_exporters.register("volunteers", selectors.personal_data)
        personal_data_erasers.register("volunteers", services.erase_personal_data)
