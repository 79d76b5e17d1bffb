import pytest

from backend.core.events import event_sinks


@pytest.fixture
def events():
    """Events delivered after commit, as (event, data, audience) tuples.

    Wrap the call in `django_capture_on_commit_callbacks(execute=True)`: in a test the
    transaction never commits, so nothing is delivered otherwise.
    """
    seen = []
    event_sinks.register("activities-test", lambda *, event, data, audience: seen.append((event, data, audience)))
    yield seen
    event_sinks.unregister("activities-test")


@pytest.fixture
def named(events):
    """The names of the events delivered so far."""
    return lambda: [event for event, _data, _audience in events]
