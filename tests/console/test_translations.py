"""The console speaks Chinese: the project's catalog for what django-unfold and the admin leave in
English agrees with its compiled .mo, and no console page a secretary or a street admin can open
shows any of those English strings."""

from __future__ import annotations

import ast
import gettext
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from django.contrib import admin
from django.urls import NoReverseMatch, reverse
from django.utils import translation

from backend.members.models import MemberRegistration
from tests.members.factories import RegistrationFactory

LOCALE = Path(__file__).resolve().parents[2] / "backend" / "locale" / "zh_Hans" / "LC_MESSAGES"

# What showed in English before the catalog; each a whole phrase of the page's text.
ENGLISH = [
    "Select action",
    "Run",
    "Type to search",
    "Select value",
    "Date",
    "No results found",
    "This page yielded into no results",
    "Choose file to upload",
    "Welcome back to",
    "Return to site",
    "Light",
    "Dark",
    "System",
]


def _po_entries(path: Path) -> dict[str, str]:
    entries: dict[str, str] = {}
    msgid = None
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("msgid "):
            msgid = ast.literal_eval(line[6:])
        elif line.startswith("msgstr ") and msgid is not None:
            entries[msgid] = ast.literal_eval(line[7:])
            msgid = None
    entries.pop("", None)
    return entries


def test_the_committed_mo_is_the_po_compiled():
    po = _po_entries(LOCALE / "django.po")
    with (LOCALE / "django.mo").open("rb") as handle:
        mo = dict(gettext.GNUTranslations(handle)._catalog)
    mo.pop("", None)
    assert po and mo == po, "run `make messages` after editing the .po"


@pytest.mark.parametrize("english", ENGLISH)
def test_each_english_string_is_translated(english):
    with translation.override("zh-hans"):
        if english == "This page yielded into no results":
            english = "This page yielded into no results. Create a new item or reset your filters."
        assert translation.gettext(english) != english


class _Text(HTMLParser):
    """The text a person reads: text nodes and the attributes shown as text, no scripts or styles."""

    SHOWN = {"placeholder", "aria-label", "title", "value", "data-label"}

    def __init__(self):
        super().__init__()
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "style", "template"):
            self._skip += 1
        for name, value in attrs:
            if name in self.SHOWN and value and not (tag == "input" and name == "value"):
                self.parts.append(value)

    def handle_endtag(self, tag):
        if tag in ("script", "style", "template") and self._skip:
            self._skip -= 1

    def handle_data(self, data):
        if not self._skip:
            self.parts.append(data)


def english_on(page: str) -> list[str]:
    parser = _Text()
    parser.feed(page)
    text = "\n".join(parser.parts)
    return [phrase for phrase in ENGLISH if re.search(rf"(?<![A-Za-z]){re.escape(phrase)}(?![A-Za-z])", text)]


def console_pages(user) -> list[str]:
    """Every list, add page and one change page the user may open, and the console's own pages."""
    pages = [reverse("admin:index"), reverse("console-checkin-index"), reverse("console-import-index")]
    from django.test import RequestFactory

    request = RequestFactory().get("/admin/")
    request.user = user
    for model, model_admin in admin.site._registry.items():
        if not model_admin.has_view_permission(request):
            continue
        opts = model._meta
        try:
            pages.append(reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist"))
        except NoReverseMatch:
            continue
        if model_admin.has_add_permission(request):
            pages.append(reverse(f"admin:{opts.app_label}_{opts.model_name}_add"))
        first = model_admin.get_queryset(request).order_by("pk").first()
        if first is not None:
            pages.append(reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[first.pk]))
    return pages


@pytest.mark.django_db
@pytest.mark.parametrize("role", ["secretary", "street_admin"])
def test_no_console_page_shows_english(client, places, role):
    RegistrationFactory(community=places.home)
    user = getattr(places, role)
    client.force_login(user)
    found: dict[str, list[str]] = {}
    pages = console_pages(user)
    assert len(pages) > 20
    for url in pages:
        response = client.get(url)
        assert response.status_code == 200, url
        if english := english_on(response.content.decode()):
            found[url] = english
    assert found == {}


def test_the_check_finds_english_when_it_is_there():
    assert english_on('<button>Run</button><input placeholder="Type to search">') == ["Run", "Type to search"]
    assert english_on("<p>执行</p><script>Run()</script>") == []
    assert MemberRegistration  # the model whose pages the walk opens first
