"""core.versioned: answers kept beside versions that watched writes change, per part or for all."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django.db import transaction

from backend.accounts.selectors import is_active_account
from backend.communities.models import Street
from backend.core.versioned import EVERY_PART, Versioned
from tests import factories

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def kept():
    # Streets named "全部…" change every part; any other street only its own city's part.
    return Versioned(
        "test-streets",
        [(Street, lambda street, created: EVERY_PART if street.name.startswith("全部") else (street.city,))],
    )


def test_an_entry_is_served_while_its_versions_stand(kept):
    found = kept.find(["a"], part="岳阳")
    assert found.entries == {}
    kept.keep(found, {"a": [1, 2]})
    assert kept.find(["a"], part="岳阳").entries == {"a": [1, 2]}
    # Another part's entries and versions are their own.
    assert kept.find(["a"], part="长沙").entries == {}


def test_a_write_changes_its_part_or_every_part(kept):
    for part in ("岳阳", "长沙"):
        kept.keep(kept.find(["a"], part=part), {"a": part})
    factories.StreetFactory(city="岳阳")
    assert kept.find(["a"], part="岳阳").entries == {} and kept.find(["a"], part="长沙").entries == {"a": "长沙"}
    factories.StreetFactory(city="长沙", name="全部街道")
    assert kept.find(["a"], part="长沙").entries == {}


def test_a_connection_with_a_write_not_yet_committed_keeps_nothing(kept):
    with transaction.atomic():
        factories.StreetFactory(city="岳阳")
        kept.keep(kept.find(["a"], part="岳阳"), {"a": "inside"})
        assert kept.find(["a"], part="岳阳").entries == {}
        # A write to another part is no reason to keep nothing here.
        kept.keep(kept.find(["a"], part="长沙"), {"a": "inside"})
        assert kept.find(["a"], part="长沙").entries == {"a": "inside"}


def test_a_version_started_by_another_reader_first_keeps_nothing(kept):
    found = kept.find(["a"], part="岳阳")
    assert found.versions == (None, None)
    kept.touch("岳阳")  # a write after this reader's read, before its keep
    kept.keep(found, {"a": "read before the write"})
    assert kept.find(["a"], part="岳阳").entries == {}


def test_expired_versions_start_again(kept):
    kept.keep(kept.find(["a"]), {"a": 1})
    cache.delete(kept._version_key(None))
    assert kept.find(["a"]).entries == {}
    kept.keep(kept.find(["a"]), {"a": 2})
    assert kept.find(["a"]).entries == {"a": 2}


def test_the_accounts_state_is_read_as_authentication_reads_it():
    user = factories.UserFactory()
    assert is_active_account(user.pk) is True
    type(user).objects.filter(pk=user.pk).update(is_active=False)
    assert is_active_account(user.pk) is False
    assert is_active_account(user.pk + 1000) is None
