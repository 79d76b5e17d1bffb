"""Append-only ledgers: rows written once and never changed or removed afterwards.

Points, corrections of service hours, the steps of appeals and demands, check-ins and the log of
staff reading personal details are evidence: a total, a rate or an audit is only as good as the
certainty that no line behind it was edited. A mistake is put right by a new row (a points
correction, a record correction), never by changing an old one.

Two layers refuse UPDATE and DELETE:

- on PostgreSQL, a row trigger (django-pgtrigger) raises whoever sends the statement: the ORM, raw
  SQL, a shell, another program with the database password. TRUNCATE is not a row operation and
  stays possible (the tests' flush uses it); so does DROP, for whoever owns the schema.
- everywhere, the model and its querysets raise `AppendOnlyError` (a ValueError), so SQLite refuses
  too, and so does the admin.

Deleting a parent a ledger row points at fails as well: those foreign keys are PROTECT.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

import pgtrigger
from django.db import models

TRIGGER_NAME = "append_only"


class AppendOnlyError(ValueError):
    """An attempt to change or remove a row of an append-only ledger."""


def _refuse(model: type[models.Model], hint: str = "") -> AppendOnlyError:
    text = f"{model._meta.label} rows are append-only"
    return AppendOnlyError(f"{text}: {hint}" if hint else text)


class AppendOnlyQuerySet(models.QuerySet):
    def update(self, **kwargs: Any) -> int:
        # ON DELETE SET NULL of a foreign key the model lets go of (see `append_only(may_clear=…)`).
        may_clear = getattr(self.model, "append_only_may_clear", ())
        if kwargs and all(name in may_clear and value is None for name, value in kwargs.items()):
            return super().update(**kwargs)
        raise _refuse(self.model, getattr(self.model, "append_only_hint", ""))

    def delete(self) -> tuple[int, dict[str, int]]:
        raise _refuse(self.model, getattr(self.model, "append_only_hint", ""))

    def bulk_update(self, objs: Any, fields: Any, batch_size: int | None = None) -> int:
        # Refused before Django's own atomic block, which would leave the caller's transaction broken.
        raise _refuse(self.model, getattr(self.model, "append_only_hint", ""))


class AppendOnlyModel(models.Model):
    """A model whose rows are inserted once; `save()` of a stored row and `delete()` raise."""

    # What to do instead, for the message (e.g. "add a correction instead").
    append_only_hint: ClassVar[str] = ""
    # Nullable foreign keys (ON DELETE SET NULL) the row may lose; the same as the triggers' may_clear.
    append_only_may_clear: ClassVar[tuple[str, ...]] = ()

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        abstract = True

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None and not self._state.adding:
            raise _refuse(type(self), self.append_only_hint)
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise _refuse(type(self), self.append_only_hint)


def append_only(*, may_clear: Sequence[str] = ()) -> list[pgtrigger.Protect]:
    """The triggers for `Meta.triggers`: no UPDATE and no DELETE of any row.

    `may_clear` names nullable foreign keys whose target may be deleted (ON DELETE SET NULL): an
    UPDATE that only sets those to NULL passes, anything else it changes is refused.
    """
    if not may_clear:
        return [pgtrigger.Protect(name=TRIGGER_NAME, operation=pgtrigger.Update | pgtrigger.Delete)]
    set_to_other = pgtrigger.Q()
    for field in may_clear:
        set_to_other |= pgtrigger.Q(
            **{f"new__{field}__isnull": False, f"old__{field}__df": pgtrigger.F(f"new__{field}")}
        )
    return [
        pgtrigger.Protect(name=TRIGGER_NAME, operation=pgtrigger.Delete),
        pgtrigger.Protect(
            name=f"{TRIGGER_NAME}_update",
            operation=pgtrigger.Update,
            condition=pgtrigger.AnyChange(exclude=list(may_clear)),
        ),
        pgtrigger.Protect(name=f"{TRIGGER_NAME}_clear_only", operation=pgtrigger.Update, condition=set_to_other),
    ]
