"""Background work for notices: WeChat subscribe messages for recipients who were not connected."""

from __future__ import annotations

from datetime import datetime

from django_tasks import task

from . import services


@task()
def plan_subscribe_messages(notice_id: int) -> int:
    """Enqueued once a notice commits: one send per offline recipient with a consent left."""
    delivery_ids = services.plan_subscribe_deliveries(notice_id=notice_id)
    for delivery_id in delivery_ids:
        enqueue_send(delivery_id)
    return len(delivery_ids)


@task()
def send_subscribe_message(delivery_id: int) -> str:
    """One attempt; safe to run twice (the second run finds the delivery claimed and does nothing)."""
    outcome = services.deliver_subscribe_message(delivery_id=delivery_id)
    if outcome.retry_at is not None:
        enqueue_send(delivery_id, run_after=outcome.retry_at)
    return outcome.status


def enqueue_send(delivery_id: int, *, run_after: datetime | None = None) -> None:
    send = send_subscribe_message
    # A backend that cannot defer (the immediate one in tests) retries at once; attempts stay bounded.
    if run_after is not None and send.get_backend().supports_defer:
        send = send.using(run_after=run_after)
    send.enqueue(delivery_id)
