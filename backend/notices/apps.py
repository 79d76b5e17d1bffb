from django.apps import AppConfig


class NoticesConfig(AppConfig):
    name = "backend.notices"
    label = "notices"
    verbose_name = "通知公告"
