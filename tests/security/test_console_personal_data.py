"""The personal-data scan over the console: every page and every export, as each staff role.

The same seeded values as the API's scan (tests/security/test_personal_data.py: party members and
volunteers with ID numbers, a person with a row in every app who checked in from a position), read
through the console by community A's secretary, community B's, street 1's admin, street 2's, and
community A's unit liaison: every registered admin's list and the change page of each side's
object, the 工作台 (the index), the street comparison, attendance, the check-in screens and the
imports; every ledger export (`ledger_export = True`, all the rows the role's list shows), the
attendance export and the street comparison's exports.

The rule (tests/security/personal_data.py): no ID number but the viewer's own, no check-in
position anywhere; a full phone only where it is the viewer's own, or where the console hands
staff a call list by design and writes the read to the audit log: a ledger export whose admin has
`full_phone_fields` (ScopedAdmin), for staff whose scope covers the row, and the attendance export.
"""

from __future__ import annotations

import re

import pytest
from django.contrib import admin
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.test import Client
from django.urls import reverse

from backend.accounts.models import PersonalDataAccess
from backend.activities.models import CheckIn
from backend.core.console import ScopedAdmin
from tests.accounts.personal import build_person

from .personal_data import Recorded, Scanner
from .test_personal_data import _position_needles, _seed_id_numbers, owners

pytestmark = [pytest.mark.security, pytest.mark.django_db]

VIEWERS = ("staff", "staff_other", "street_admin", "street_admin_other", "unit_liaison")


def audited_full_views() -> dict[re.Pattern[str], str]:
    """Console pages that show staff full phones by design, each with the audit `what` it writes
    (matched against "METHOD path"): the exports of the admins with `full_phone_fields` (a POST to
    the list), the change pages of the admins that write each read to the audit log (a party
    member's or a registration's details, an appeal with the number to call back)."""
    views: dict[re.Pattern[str], str] = {}
    for model, model_admin in admin.site._registry.items():
        prefix = f"admin:{model._meta.app_label}_{model._meta.model_name}"
        what = getattr(model_admin, "audit_what", "") or AUDITED_CHANGE_PAGES.get(model._meta.label, "")
        if isinstance(model_admin, ScopedAdmin) and model_admin.full_phone_fields and model_admin.is_ledger():
            views[re.compile(f"^POST {re.escape(reverse(f'{prefix}_changelist'))}$")] = what
        if what:
            change = re.escape(reverse(f"{prefix}_change", args=[0])).replace("0", r"\d+", 1)
            views[re.compile(f"^GET {change}$")] = what
    return views


# Change pages whose admin writes the read itself (appeals/admin.py: the resident's phone, in full).
AUDITED_CHANGE_PAGES = {"appeals.Appeal": "appeal"}


def published_on_console() -> list[tuple[re.Pattern[str], set[str]]]:
    """Contacts published on a record, on its console page (as on its API route): a certificate's
    issuer contact, a property company's contact (not an account: no one to audit the read of)."""
    from .test_personal_data import published

    routes = {"volunteers": "certificate", "red_property": "propertycompany"}
    api = published()
    return [
        (re.compile(rf"^/admin/{app}/{model}/\d+/change/$"), phones)
        for (app, model), (_route, phones) in zip(routes.items(), api, strict=True)
    ]


class RecordingConsole(Client):
    def __init__(self, viewer, sink: list[Recorded]) -> None:
        super().__init__()
        self.viewer = viewer.pk
        self.sink = sink
        self.force_login(viewer)

    def request(self, **kwargs):
        response = super().request(**kwargs)
        body = b"".join(response.streaming_content) if response.streaming else bytes(response.content)
        self.sink.append(
            Recorded(
                viewer=self.viewer,
                method=kwargs.get("REQUEST_METHOD", "GET"),
                path=kwargs.get("PATH_INFO", ""),
                status=response.status_code,
                content_type=response.get("Content-Type", ""),
                body=body,
            )
        )
        return response


def console_pages(world, activity) -> list[str]:
    """Every page of the console: each admin's list and the change page of each side's object,
    then the console's own pages (backend/console/urls.py) and the index (the 工作台)."""
    from backend.console.imports.kinds import IMPORTS

    pages = [reverse("admin:index")]
    for model in admin.site._registry:
        prefix = f"admin:{model._meta.app_label}_{model._meta.model_name}"
        pages.append(reverse(f"{prefix}_changelist"))
        for side in (world.a, world.b):
            obj = side.object_for(model)
            if obj is not None:
                pages.append(reverse(f"{prefix}_change", args=[obj.pk]))
    pages += [
        reverse("console-street"),
        reverse("console-checkin-index"),
        reverse("console-checkin-screen", args=[activity.pk]),
        reverse("console-checkin-counts", args=[activity.pk]),
        reverse("console-attendance", args=[activity.pk]),
        reverse("console-import-index"),
        *[reverse("console-import", args=[slug]) for slug in IMPORTS],
    ]
    return pages


def ledger_lists() -> list[str]:
    return [
        reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
        for model, model_admin in admin.site._registry.items()
        if isinstance(model_admin, ScopedAdmin) and model_admin.is_ledger()
    ]


def test_no_personal_data_in_the_console_where_the_role_may_not_see_it(world, no_throttles, figures):
    _seed_id_numbers(world)
    person = build_person(world.a.community, staff=world.a.users["staff"])
    activity = CheckIn.objects.filter(user=person.user).first().activity
    sink: list[Recorded] = []
    pages = exports = 0
    street_of = {"street_admin": world.a.street, "street_admin_other": world.b.street}
    for role in VIEWERS:
        user = world.user(role)
        console = RecordingConsole(user, sink)
        for page in console_pages(world, activity):
            answer = console.get(page)
            assert answer.status_code < 500, (role, page, answer.status_code)
            pages += 1
        for listing in ledger_lists():
            answer = console.post(
                listing, {"action": "export_xlsx", "select_across": "1", "index": "0", ACTION_CHECKBOX_NAME: ["0"]}
            )
            assert answer.status_code < 500, (role, listing, answer.status_code)
            exports += 1
        for kind in ("coverage", "board"):
            street = street_of.get(role, world.a.street)
            answer = console.get(f"{reverse('console-street')}?street={street.pk}&export={kind}")
            assert answer.status_code < 500, (role, kind, answer.status_code)
            exports += 1
        answer = console.get(reverse("activity-attendance-export", kwargs={"pk": activity.pk}))
        assert answer.status_code < 500
        exports += 1

    phones, ids = owners()
    audited = set(PersonalDataAccess.objects.values_list("actor_id", "what", "path"))
    needles: dict[str, str] = {}
    for lat, lon in person.positions:
        needles.update(_position_needles(lat, lon))
    scanner = Scanner(phone_owners=phones, id_owners=ids, needles=needles, audited=audited)
    scanner.full_views = audited_full_views()
    scanner.published = published_on_console()
    for record in sink:
        scanner.answer(record)

    # The scan looked where the values are: the secretary's member export holds the members' phones.
    staff = world.a.users["staff"].pk
    export = [r for r in sink if r.viewer == staff and r.method == "POST" and "partymember" in r.path]
    assert export and export[0].content_type.startswith("application/vnd.openxmlformats")
    assert person.member_phone in _text(export[0])
    figures["console personal data"] = (
        f"{pages} pages and {exports} exports scanned as {len(VIEWERS)} staff roles ({len(sink)} answers); "
        f"{len(scanner.findings)} unmasked found"
    )
    assert not scanner.findings, "\n".join(sorted(set(scanner.findings)))


def _text(record: Recorded) -> str:
    from .personal_data import text_of

    return text_of(record.content_type, record.body)
