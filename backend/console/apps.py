from django.apps import AppConfig


class ConsoleConfig(AppConfig):
    """The secretaries' workbench on top of the admin: the dashboard, the check-in screen, the Excel
    imports and the sidebar by task. It reads every app, so it sits above them all."""

    name = "backend.console"
    label = "console"
    verbose_name = "工作台"
