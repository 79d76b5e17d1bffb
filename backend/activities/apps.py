from django.apps import AppConfig


class ActivitiesConfig(AppConfig):
    name = "backend.activities"
    label = "activities"
    verbose_name = "活动与签到"

    def ready(self) -> None:
        from datetime import timedelta

        from backend.accounts.registry import personal_data_erasers, personal_data_exporters
        from backend.core.events import audience_choices, register_audience_provider, watch_permission
        from backend.core.scheduler import register_job
        from backend.members.registry import membership_ended

        from . import selectors, services
        from .tasks import finish_due_activities

        # Notices for an activity reach whoever signed up; its live attendance, staff in scope.
        register_audience_provider("activity", "activities", selectors.signed_up_user_ids)
        watch_permission.register("activity", selectors.may_watch)
        audience_choices.register("activity", selectors.notice_audience_activities)
        register_job(name="activities.finish_due", every=timedelta(minutes=5), enqueue=finish_due_activities.enqueue)
        # What activities holds about a person: in their export, and erased with their account.
        personal_data_exporters.register("activities", selectors.personal_data)
        personal_data_erasers.register("activities", services.erase_personal_data)
        # A membership that ends takes its pending leave for meetings no longer the person's with it.
        membership_ended.register("activities", services.end_leave_of_former_member)
