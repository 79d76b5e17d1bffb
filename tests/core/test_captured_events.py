"""The captured_events fixture: payloads as a client receives them, and a count that can fail."""

from decimal import Decimal

import pytest
from django.db import transaction

from backend.core.events import Audience, emit

pytestmark = pytest.mark.django_db


def test_payloads_arrive_as_json_gives_them(captured_events):
    with captured_events(expected=1):
        emit(event="thing.done", data={"hours": Decimal("2.50"), "ids": (1, 2)}, audience=Audience.users([7]))
    [(event, data, audience)] = captured_events
    assert event == "thing.done"
    assert data == {"hours": "2.50", "ids": [1, 2]}
    assert audience.ids == (7,)


def test_nothing_leaves_before_the_commit(captured_events):
    with captured_events(expected=1):
        emit(event="thing.done", data={}, audience=Audience.users([7]))
        assert captured_events == []


def test_a_wrong_count_fails(captured_events):
    with (
        pytest.raises(AssertionError, match=r"expected 2 event\(s\), got 1: \['thing.done'\]"),
        captured_events(expected=2),
    ):
        emit(event="thing.done", data={}, audience=Audience.users([7]))


def test_a_rolled_back_write_announces_nothing(captured_events):
    with captured_events(expected=0):
        try:
            with transaction.atomic():
                emit(event="thing.done", data={}, audience=Audience.users([7]))
                raise RuntimeError("rolled back")
        except RuntimeError:
            pass


def test_a_payload_the_socket_cannot_carry_fails_where_it_is_emitted(captured_events):
    # emit() logs a failing sink and carries on (the write stands); the capture then misses it.
    with pytest.raises(AssertionError, match="expected 1 event"), captured_events(expected=1):
        emit(event="thing.done", data={"oops": object()}, audience=Audience.users([7]))
