"""Running members' data migrations in a test: back to the state before one, then forward again."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from django.db import connection
from django.db.migrations.executor import MigrationExecutor


def migrate(targets) -> None:
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)


@contextmanager
def migrated_back_to(targets) -> Iterator[None]:
    """The schema as `targets` left it for the test's body, then every app's latest again."""
    migrate(targets)
    yield
    migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())
