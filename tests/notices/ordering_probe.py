"""Two notice creations overlapping in time, in two threads: which commits first, and with which id.

Used in-process on PostgreSQL; on SQLite run as its own process against a database file
(`python -m tests.notices.ordering_probe`), because the test database there is an in-memory,
shared-cache one whose locking is not the file locking production relies on.
"""

from __future__ import annotations

import json
import os
import sys
import threading
from collections.abc import Callable

from django.db import connection, transaction


def overlapping_creates(create: Callable[[str], int], second_is_waiting: Callable[[threading.Thread], bool]) -> dict:
    """The first creation holds its transaction open until the second has been seen waiting.

    Inside its own transaction, right after its insert, the second looks for the first notice:
    finding it proves the first had committed before the second took its id.
    """
    results: dict = {}
    first_created = threading.Event()
    release = threading.Event()

    def first() -> None:
        try:
            with transaction.atomic():
                results["first"] = create("先开始的通知")
                first_created.set()
                release.wait(20)
        except Exception as exc:
            results["first_error"] = repr(exc)
            first_created.set()
        finally:
            connection.close()

    def second() -> None:
        from backend.notices.models import Notice

        try:
            with transaction.atomic():
                results["second"] = create("后开始的通知")
                results["second_saw_first_committed"] = Notice.objects.filter(pk=results.get("first")).exists()
        except Exception as exc:
            results["second_error"] = repr(exc)
        finally:
            connection.close()

    one = threading.Thread(target=first)
    two = threading.Thread(target=second)
    one.start()
    first_created.wait(20)
    two.start()
    try:
        results["second_waited"] = second_is_waiting(two)
        results["second_done_before_release"] = "second" in results
    finally:
        release.set()
        one.join(30)
        two.join(30)
    return results


def _sqlite_main(path: str) -> None:
    os.environ["DATABASE_URL"] = f"sqlite:///{path}"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")
    import django

    django.setup()
    from django.apps import apps

    from backend.core.events import Audience
    from backend.notices import services

    tables = [
        "communities.Street",
        "communities.Community",
        "accounts.User",
        "core.Upload",
        "notices.Notice",
        "notices.NoticeReceipt",
        "notices.SubscribeConsent",
        "notices.SubscribeDelivery",
    ]
    with connection.schema_editor() as editor:
        for label in tables:
            editor.create_model(apps.get_model(label))
    user = apps.get_model("accounts.User").objects.create(phone="13900000001", real_name="居民")

    def create(title: str) -> int:
        return services.create_notice(sender=None, title=title, body="正文", audience=Audience.user(user)).pk

    def waiting(thread: threading.Thread) -> bool:
        # BEGIN IMMEDIATE blocks on the write lock (busy timeout) instead of failing.
        thread.join(0.5)
        return thread.is_alive()

    print(json.dumps(overlapping_creates(create, waiting)))


if __name__ == "__main__":
    _sqlite_main(sys.argv[1])
