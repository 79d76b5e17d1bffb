"""System checks for what the house rules need at start: every required provider registered."""

from __future__ import annotations

from typing import Any

from django.core import checks

from .registry import all_registries


def providers_registered(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    """core.E001 for each required key of a registry that no app registered in its ready()."""
    return [
        checks.Error(
            f"registry {registry.name!r} has no provider {key!r}",
            hint="the app that provides it must be in INSTALLED_APPS and register it in AppConfig.ready()",
            id="core.E001",
        )
        for registry in all_registries()
        for key in registry.missing()
    ]
