from django.apps import AppConfig


class RedPropertyConfig(AppConfig):
    name = "backend.red_property"
    label = "red_property"
    verbose_name = "红色物业"
