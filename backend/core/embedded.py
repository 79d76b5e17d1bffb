"""`make run`'s server: daphne with the task worker running inside its process.

Without Redis the channel layer and the cache live in one process's memory. A task worker in a
process of its own therefore sends its events into a channel layer no socket listens on, and
marks it clears in its cache stay set in daphne's: the trailing attendance count (activities/live.py)
was never seen, and daphne, still seeing its mark, sent nothing more for 30 s. Running the worker
in daphne's process shares both. Its thread is started from daphne's event loop through
sync_to_async, so every async_to_sync in a task (the channel-layer send) runs on daphne's loop, where
the in-memory layer's queues belong.

Production keeps its shape: daphne (`python -m daphne`), separate `db_worker`s and Redis.

    python -m backend.core.embedded [daphne's options] backend.asgi:application
"""

from __future__ import annotations

import asyncio
import logging
from concurrent.futures import ThreadPoolExecutor

from asgiref.sync import sync_to_async
from daphne.cli import CommandLineInterface
from daphne.server import Server

logger = logging.getLogger(__name__)

# Seconds between looks at an empty queue: a deferred send (run_after one second) waits at most this.
WORKER_INTERVAL = 0.5


def make_worker():
    from django.utils.crypto import get_random_string
    from django_tasks import DEFAULT_TASK_BACKEND_ALIAS
    from django_tasks_db.management.commands.db_worker import Worker

    return Worker(
        queue_names=["*"],
        excluded_queue_names=[],
        interval=WORKER_INTERVAL,
        batch=False,
        backend_name=DEFAULT_TASK_BACKEND_ALIAS,
        startup_delay=False,
        max_tasks=None,
        worker_id=f"embedded-{get_random_string(12)}",
    )


class EmbeddedServer(Server):
    """daphne's server, which starts one task worker once its event loop runs and stops it on shutdown."""

    def run(self) -> None:
        from twisted.internet import reactor

        reactor.callWhenRunning(self.start_worker)
        # The interface declares its methods without self, so the stubs read each argument one place off.
        reactor.addSystemEventTrigger("before", "shutdown", self.stop_worker)  # type: ignore[arg-type]
        super().run()

    def start_worker(self) -> None:
        self.worker = make_worker()
        # A thread of its own, not one of the pool serving sync views: the worker never returns.
        run = sync_to_async(self.worker.run, thread_sensitive=False, executor=ThreadPoolExecutor(1, "task-worker"))
        self.worker_future = asyncio.get_event_loop().create_task(run())
        self.worker_future.add_done_callback(self._worker_ended)
        logger.info("task worker %s running inside daphne", self.worker.worker_id)

    def stop_worker(self) -> None:
        worker = getattr(self, "worker", None)
        if worker is not None:
            worker.running = False

    def _worker_ended(self, future: asyncio.Future) -> None:
        if not future.cancelled() and future.exception() is not None:
            logger.error("the embedded task worker stopped", exc_info=future.exception())


class EmbeddedCommandLine(CommandLineInterface):
    server_class = EmbeddedServer


if __name__ == "__main__":
    # The same socket behaviour as production's ws server: a frame over the cap closes with 1009.
    from daphne import server

    from backend.wsserver import ClosingWebSocketFactory

    server.WebSocketFactory = ClosingWebSocketFactory
    EmbeddedCommandLine.entrypoint()
