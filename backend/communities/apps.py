from django.apps import AppConfig


class CommunitiesConfig(AppConfig):
    name = "backend.communities"
    label = "communities"
    verbose_name = "区划与党组织"

    def ready(self) -> None:
        from . import public  # noqa: F401  (connects the public pages to the tree's changes)
