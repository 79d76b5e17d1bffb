"""Notice ids commit in id order, so a client resuming after the last id it saw never skips one.

Two creations overlap: the first takes its id and keeps its transaction open; the second must
wait for it, then take a larger id and commit after it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from django.db import connection

from backend.core.events import Audience
from backend.notices import services
from backend.notices.models import Notice
from tests import factories
from tests.notices.ordering_probe import overlapping_creates

ROOT = Path(__file__).resolve().parents[2]


def assert_in_order(results: dict) -> None:
    assert "first_error" not in results and "second_error" not in results, results
    assert results["second_waited"], "the second creation went ahead while the first was still open"
    assert not results["second_done_before_release"]
    assert results["second_saw_first_committed"], "the second took its id before the first had committed"
    assert results["second"] > results["first"]


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the advisory lock is PostgreSQL's; see the SQLite test")
@pytest.mark.django_db(transaction=True)
def test_postgresql_serialises_notice_creation_with_an_advisory_lock():
    user = factories.UserFactory()

    def create(title: str) -> int:
        return services.create_notice(sender=None, title=title, body="正文", audience=Audience.user(user)).pk

    def waiting_on_the_lock(thread: threading.Thread) -> bool:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and thread.is_alive():
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"
                    " AND classid = 0 AND objid = %s",
                    [services.NOTICE_ID_LOCK],
                )
                if cursor.fetchone()[0]:
                    return True
            time.sleep(0.02)
        return False

    results = overlapping_creates(create, waiting_on_the_lock)
    assert_in_order(results)
    assert list(Notice.objects.order_by("id").values_list("title", flat=True)) == ["先开始的通知", "后开始的通知"]


@pytest.mark.skipif(connection.vendor != "sqlite", reason="PostgreSQL has its own test above")
def test_sqlite_serialises_notice_creation_with_immediate_transactions(tmp_path):
    from django.conf import settings

    # What makes it hold on SQLite: every transaction takes the write lock when it begins.
    assert settings.DATABASES["default"]["OPTIONS"]["transaction_mode"] == "IMMEDIATE"
    env = {**os.environ, "VAR_DIR": str(tmp_path), "TESTING": "1"}
    env.pop("DATABASE_URL", None)
    run = subprocess.run(
        [sys.executable, "-m", "tests.notices.ordering_probe", str(tmp_path / "ordering.sqlite3")],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    assert_in_order(json.loads(run.stdout.strip().splitlines()[-1]))
