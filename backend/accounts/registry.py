"""What the apps above accounts tell it about the personal data they hold, without accounts importing them.

- `personal_data_exporters[app](user)` → `{section: data}`: everything the app holds about `user`,
  unmasked (the export is the person's own). Sections are plain JSON-ready values
  (`backend.accounts.personal_data.rows` builds them from querysets).
- `personal_data_erasers[app](user, now=...)`: anonymise what the app holds about `user` when the
  account is deleted. Runs inside the deletion's transaction, before the user row itself is
  anonymised (the user's phone is still there to compare with). It must only touch profile
  tables: ledgers (points, service records and corrections, check-ins, appeal and demand steps,
  the audit trail) keep their rows as written, pointing at the now pseudonymous account.
  It must be idempotent.
- `session_closers[app](user_id)`: end what the account has open beyond a request (the notices
  app closes its sockets), because it was deactivated or deleted or lost a role. Called after the
  commit; it must not raise for a user with nothing open.

Each app registers its own from its `AppConfig.ready()`.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

from backend.core.registry import Registry

if TYPE_CHECKING:
    from .models import User


class PersonalDataEraser(Protocol):
    def __call__(self, user: User, *, now: datetime) -> None: ...


personal_data_exporters: Registry[Callable[[User], dict[str, Any]]] = Registry("personal data export")
personal_data_erasers: Registry[PersonalDataEraser] = Registry("personal data erasure")
session_closers: Registry[Callable[[int], object]] = Registry("session close")
