from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps


class AccountsConfig(AppConfig):
    name = "backend.accounts"
    label = "accounts"
    verbose_name = "账号与权限"

    def ready(self) -> None:
        from .scoping import register_provider

        register_provider()


class ConsoleAdminConfig(admin_apps.AdminConfig):
    """The Django admin as the console: open to everyone holding a role, scoped like the API."""

    default = False
    default_site = "backend.core.console.ConsoleSite"
