"""gunicorn's threaded worker, taking a new connection only while one of its threads is free.

gunicorn's `gthread` worker accepts every connection it can (up to `worker_connections`, 1000) in its
main thread and queues their requests for its threads; the processes of a replica race for each new
connection. When several arrive at once (nginx opening upstream connections as a burst of requests
starts, a load test's clients), the process that wins the first usually takes them all: it loops
back to `accept` before the others have woken. Kept alive, those connections stay with it. Measured
on the benchmark's shape (two processes of four threads, eight connections): in about half of the
runs one process served every request while the other stayed idle, which halved the replica's
throughput and cost a third more CPU per request (four threads and a queue contending for one
interpreter). docs/benchmarks.md has the figures.

Here a process stops accepting when each of its threads has a request, and starts again when one
finishes: a burst is shared among the processes, and a connection no process can serve yet waits in
the listening socket's backlog, as with gunicorn's `sync` worker, instead of in a busy process's
queue. Kept-alive connections are still served where they were accepted. On a graceful stop the
connections still waiting are taken and served within the grace period, as `gthread` serves the
ones it had accepted.

It relies on three of the worker's methods (`enqueue_req`, `finish_request`, `set_accept_enabled`,
all called on its main thread), present since gunicorn 26; tests/core/test_gunicorn_worker.py runs
a real gunicorn with it.
"""

from __future__ import annotations

from typing import Any

from gunicorn.workers.gthread import ThreadWorker


class BalancedThreadWorker(ThreadWorker):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.busy = 0  # requests handed to the thread pool and not yet finished

    def _has_free_thread(self) -> bool:
        return self.busy < self.cfg.threads

    def enqueue_req(self, conn: Any) -> None:
        self.busy += 1
        super().enqueue_req(conn)
        if not self._has_free_thread() and self._accepting:
            super().set_accept_enabled(False)

    def finish_request(self, conn: Any, fs: Any) -> None:
        # Before the parent's: it may hand the same connection straight back (a request read ahead).
        self.busy -= 1
        super().finish_request(conn, fs)

    def set_accept_enabled(self, enabled: bool) -> None:
        if not enabled and not self.alive:
            self._take_waiting_connections()
        # The run loop asks for accepting on each turn while under `worker_connections`; it is granted
        # only with a thread free, so the first turn after a request finishes turns it back on.
        super().set_accept_enabled(enabled and self._has_free_thread())

    def _take_waiting_connections(self) -> None:
        """On a graceful stop, before the process stops accepting: the connections waiting in the
        backlog for a free thread are taken and served within the grace period, as `gthread` serves
        the ones it had already accepted; left there, they were reset when the socket closed."""
        for listener in self.sockets:
            listener.setblocking(False)
            while True:
                before = self.nr_conns
                self.accept(listener)  # takes one, or none when the backlog is empty (EAGAIN)
                if self.nr_conns == before:
                    break
