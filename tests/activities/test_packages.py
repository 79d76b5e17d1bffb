"""The services and selectors packages: every public name is re-exported from exactly one module,
and nothing in a package hides a service of the same name (a task imported by name once did)."""

from __future__ import annotations

import inspect
import pkgutil
import types

import pytest

from backend.activities import selectors, services, tasks


@pytest.mark.parametrize("package", [services, selectors], ids=["services", "selectors"])
def test_each_exported_name_is_defined_in_one_module_of_its_package(package):
    modules = {info.name for info in pkgutil.iter_modules(package.__path__)}
    assert not modules & set(package.__all__)
    for name in package.__all__:
        value = getattr(package, name)
        assert not isinstance(value, types.ModuleType), name
        if inspect.isfunction(value) or inspect.isclass(value):
            assert value.__module__.startswith(f"{package.__name__}."), (name, value.__module__)
            owner = value.__module__.rsplit(".", 1)[-1]
            assert owner in modules and getattr(getattr(package, owner), name) is value


def test_the_services_are_not_the_tasks_of_the_same_names():
    for name in ("finish_due_activities", "award_attendance_points"):
        assert inspect.isfunction(getattr(services, name))
        assert getattr(services, name) is not getattr(tasks, name)
