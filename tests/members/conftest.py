import pytest

from backend.core.events import event_sinks


@pytest.fixture
def events():
    """Events delivered after commit, as (event, data, audience) tuples.

    Wrap the call in `django_capture_on_commit_callbacks(execute=True)`: in a test the
    transaction never commits, so nothing would be delivered otherwise.
    """
    seen = []
    event_sinks.register("members-test", lambda *, event, data, audience: seen.append((event, data, audience)))
    yield seen
    event_sinks.unregister("members-test")
