"""Registries fail loudly: a required provider nobody registered stops `check`, a missing key names itself."""

import pytest
from django.core.management import call_command
from django.core.management.base import SystemCheckError

from backend.core import registry as registry_module
from backend.core.checks import providers_registered
from backend.core.registry import MissingProvider, Registry
from backend.core.scoping import scope_provider


@pytest.fixture
def fresh_registry():
    made = Registry("test things", required=["needed"])
    yield made
    registry_module._ALL.remove(made)


def test_every_required_provider_is_registered_in_this_project():
    assert providers_registered() == []
    assert "accounts" in scope_provider


def test_a_missing_required_provider_is_a_system_check_error(fresh_registry):
    (error,) = providers_registered()
    assert error.id == "core.E001"
    assert "'test things'" in error.msg and "'needed'" in error.msg
    with pytest.raises(SystemCheckError, match=r"core\.E001"):
        call_command("check")


def test_registering_it_clears_the_error(fresh_registry):
    fresh_registry.register("needed", lambda: 1)
    assert providers_registered() == []
    assert fresh_registry["needed"]() == 1


def test_asking_for_a_key_nobody_registered_raises_naming_it(fresh_registry):
    with pytest.raises(MissingProvider, match=r"'test things' has no provider 'needed'"):
        fresh_registry["needed"]
    assert fresh_registry.get("needed") is None


def test_the_scoping_interface_fails_loudly_without_accounts(monkeypatch):
    from backend.core import scoping

    monkeypatch.setattr(scope_provider, "_providers", {})
    with pytest.raises(MissingProvider, match="'scope' has no provider 'accounts'"):
        scoping.get_scope(None)
