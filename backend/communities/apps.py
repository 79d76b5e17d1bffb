from django.apps import AppConfig


class CommunitiesConfig(AppConfig):
    name = "backend.communities"
    label = "communities"
    verbose_name = "区划与党组织"
