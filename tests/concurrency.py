"""Calls released together in threads, for the tests that race writers on PostgreSQL."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from django.db import connections


def together(calls: list[Callable[[], Any]], *, timeout: float = 120) -> list[Any]:
    """Run each call in its own thread, all released at the same moment; exceptions are results."""
    barrier = threading.Barrier(len(calls))
    results: list[Any] = [None] * len(calls)

    def run(index: int) -> None:
        try:
            barrier.wait(timeout=60)
            results[index] = calls[index]()
        except Exception as exc:  # the test inspects whatever happened
            results[index] = exc
        finally:
            # Hand the thread's connection back to the pool for the next one.
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=timeout)
    assert not any(thread.is_alive() for thread in threads), "a thread did not finish"
    return results
