"""The connection pool's check, without a round trip to the server."""

from __future__ import annotations

import select

import psycopg


def check_idle_connection(conn: psycopg.Connection) -> None:
    """Raise if a pooled connection is known dead; the pool then discards it and hands out another.

    psycopg_pool's own check sends an empty query each time a connection leaves the pool: one round
    trip to PostgreSQL on every request, for the server and for us. An idle connection in autocommit
    receives nothing unless its backend goes away: a terminated backend, a restart or an idle timeout
    each send a FATAL message and close the socket. So a socket that is readable while idle, or
    already closed, belongs to a dead backend, and asking the kernel costs no round trip.

    The connection is closed before raising: the pool discards only connections psycopg knows to be
    closed, and would put a dead one it has not noticed back, to fail the next check again.
    """
    if conn.closed or conn.broken:
        raise psycopg.OperationalError("the connection is closed")
    readable, _, _ = select.select([conn.fileno()], [], [], 0)
    if readable:
        conn.close()
        raise psycopg.OperationalError("the server closed or wrote to an idle connection")
