import pytest

from backend.core.events import event_sinks
from tests import factories
from tests.volunteers.factories import VolunteerFactory


@pytest.fixture
def events():
    """Events delivered after commit, as (event, data, audience) tuples (use django_capture_on_commit_callbacks)."""
    seen = []
    event_sinks.register("volunteers-test", lambda *, event, data, audience: seen.append((event, data, audience)))
    yield seen
    event_sinks.unregister("volunteers-test")


@pytest.fixture
def secretary(community):
    return factories.staff_of(community)


@pytest.fixture
def other_secretary(other_community):
    return factories.staff_of(other_community)


@pytest.fixture
def volunteer(community):
    return VolunteerFactory(community=community)
