"""The console's authorization matrix: every registered admin × every role × every write it offers.

Writes are add, change and delete (POSTs to their pages) and each action (a POST to the list with
one of community A's rows selected). Each cell runs in a savepoint rolled back after it, so every
cell starts from the same data (tests/security/world.py). A cell is *denied* when the console
answers 403, sends the user to the login page, or answers as if the row did not exist (the
admin's redirect to its index, or 404); a denial must send no write statement at all.

What each role must get:
- anonymous and a resident with no role: denied everywhere;
- community B's secretary on community A's rows (change, delete, actions): denied, or at least
  nothing written;
- staff of A (secretary, street admin): a write lands only through an admin whose writes go to a
  service (`ScopedAdmin.writes_through_services`): where staff may add, change or delete, the
  admin must route it so; a cell where staff wrote through a bare model form is unexpected;
- a 5xx is unexpected for anyone.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.contrib import admin
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.messages import get_messages
from django.db import transaction
from django.http import HttpResponseServerError
from django.test import Client, RequestFactory
from django.urls import reverse

from backend.core.console import ScopedAdmin
from tests import factories

from . import dbstate
from .world import World

ROLES = ("anonymous", "resident", "staff_other", "staff", "street_admin", "superuser")
WRITES = ("add", "change", "delete")


class _Rollback(Exception):
    pass


@dataclass
class Figure:
    cells: int = 0
    unexpected: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)

    def line(self) -> str:
        return f"{self.cells} cells, {len(self.unexpected)} unexpected, {len(self.changed)} denials that changed data"


def _users(world: World) -> dict[str, object]:
    return {
        "anonymous": None,
        "resident": world.a.users["resident"],
        "staff_other": world.b.users["staff"],
        "staff": world.a.users["staff"],
        "street_admin": world.a.users["street_admin"],
        "superuser": factories.UserFactory(is_superuser=True, is_staff=True),
    }


def _client(user) -> Client:
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


def _denied(response, index: str) -> bool:
    if response.status_code in (403, 404):
        return True
    if response.status_code == 302:
        location = response["Location"]
        if "/login/" in location:
            return True
        if location.rstrip("/") == index.rstrip("/"):
            # The admin's answer for a row out of scope ("does not exist"), not a delete that
            # went back to the index because the list is not the user's to change.
            request = getattr(response, "wsgi_request", None)
            return request is not None and any("不存在" in str(m) for m in get_messages(request))
    return False


def _send(client: Client, path: str, data: dict) -> tuple[object, list[str]]:
    """POST inside a savepoint rolled back afterwards; the response and the write statements it sent."""
    result: tuple[object, list[str]] | None = None
    try:
        with transaction.atomic(), dbstate.capture_writes() as writes:
            try:
                response = client.post(path, data)
            except Exception as exc:  # a 500 the test client re-raises: counted, the run goes on
                response = HttpResponseServerError(repr(exc))
            # The session row is the login's, not the request's business.
            result = (response, [sql for sql in writes if "django_session" not in sql])
            raise _Rollback
    except _Rollback:
        pass
    assert result is not None
    return result


def _cells(world: World, *, actions: bool):
    """(label, path, data, admin class, write) for every admin write on community A's rows."""
    for model, model_admin in admin.site._registry.items():
        prefix = f"admin:{model._meta.app_label}_{model._meta.model_name}"
        obj = world.a.object_for(model)
        yield f"{model._meta.label} add", reverse(f"{prefix}_add"), {}, model_admin, "add"
        if obj is None:
            continue
        yield (
            f"{model._meta.label} change",
            reverse(f"{prefix}_change", args=[obj.pk]),
            {},
            model_admin,
            "change",
        )
        yield (
            f"{model._meta.label} delete",
            reverse(f"{prefix}_delete", args=[obj.pk]),
            {"post": "yes"},
            model_admin,
            "delete",
        )
        if not actions:
            continue
        names = [a if isinstance(a, str) else a.__name__ for a in (model_admin.actions or [])] + ["delete_selected"]
        for name in names:
            yield (
                f"{model._meta.label} action {name}",
                reverse(f"{prefix}_changelist"),
                {"action": name, ACTION_CHECKBOX_NAME: [obj.pk], "index": 0},
                model_admin,
                "action",
            )


def run(world: World, *, actions: bool = True) -> Figure:
    users = _users(world)
    clients = {role: _client(user) for role, user in users.items()}
    index = reverse("admin:index")
    figure = Figure()
    for label, path, data, model_admin, write in _cells(world, actions=actions):
        for role in ROLES:
            response, writes = _send(clients[role], path, data)
            figure.cells += 1
            cell = f"{label} as {role}: {response.status_code}"
            denied = _denied(response, index)
            if response.status_code >= 500:
                figure.unexpected.append(f"{cell} (server error)")
            elif role in ("anonymous", "resident") and not denied:
                figure.unexpected.append(f"{cell}, expected a denial")
            elif role == "staff_other" and writes and write != "add":
                figure.unexpected.append(f"{cell} wrote to community A's rows")
            elif (
                role in ("staff", "street_admin")
                and writes
                and write in WRITES
                and isinstance(model_admin, ScopedAdmin)
                and not model_admin.writes_through_services(write)
            ):
                figure.unexpected.append(f"{cell} wrote through a model form, not a service")
            if denied and writes:
                figure.changed.append(f"{cell} denied but wrote: {writes[:2]}")
    check_declared_permissions(users, figure)
    return figure


def check_declared_permissions(users: dict[str, object], figure: Figure) -> None:
    """Every ScopedAdmin that lets staff add, change or delete routes that write to a service."""
    request_factory = RequestFactory()
    for model, model_admin in admin.site._registry.items():
        if not isinstance(model_admin, ScopedAdmin):
            continue
        for role in ("staff", "street_admin"):
            request = request_factory.get("/admin/")
            request.user = users[role]
            allowed = {
                "add": model_admin.has_add_permission(request),
                "change": model_admin.has_change_permission(request),
                "delete": model_admin.has_delete_permission(request),
            }
            for write, may in allowed.items():
                figure.cells += 1
                if may and not model_admin.writes_through_services(write):
                    figure.unexpected.append(f"{model._meta.label}: {role} may {write} without a service")
