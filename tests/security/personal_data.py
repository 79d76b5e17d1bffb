"""The personal-data scanner: unmasked phones, plaintext ID numbers, WeChat session keys and check-in
positions, looked for in answers, log lines and a dump of the database.

What counts as a finding:
- anywhere: a WeChat `session_key` or a position a phone sent at check-in (the `needles`);
- in an answer: a mobile number (11 digits, 1[3-9]…) or a valid resident ID number (18 characters
  with a correct check digit, GB 11643) unless the viewer is its owner (their own profile, their
  export), or the answer is one of the documented full views, where staff see a phone to call back
  and the read is in the audit log (`AUDITED_FULL_VIEWS`: the audit row is checked too), or the
  phone is a contact published on a record for its readers (`published`: an organisation's contact
  on its own page, the issuer's contact printed on a certificate), on that record's routes only;
- in a log line: any mobile number or valid ID number;
- in the database: any valid ID number (they are stored encrypted) — phones are stored as given.
"""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass, field

from backend.core import idcard

# Alphanumerics around a digit run mean a token, a hash or an id, not a phone or an ID number.
MOBILE = re.compile(r"(?<![0-9A-Za-z])1[3-9][0-9]{9}(?![0-9A-Za-z])")
ID_NUMBER = re.compile(r"(?<![0-9A-Za-z])[1-9][0-9]{16}[0-9Xx](?![0-9A-Za-z])")

# Where staff are shown a resident's phone whole, by design and audited (route → audit `what`):
# a handler opening one appeal sees the number to call back (docs/security.md, "Personal data").
AUDITED_FULL_VIEWS: dict[re.Pattern[str], str] = {
    re.compile(r"^/api/v1/appeals/\d+/$"): "appeal",
    # The attendance ledger staff export to call people: full phones, each read audited.
    re.compile(r"^/api/v1/activities/\d+/attendance/export/$"): "activity_attendance",
}


def mask(value: str) -> str:
    return f"{value[:3]}…{value[-2:]}" if len(value) > 6 else "…"


def valid_id_numbers(text: str) -> list[str]:
    found = []
    for match in ID_NUMBER.finditer(text):
        try:
            found.append(idcard.validate(match.group(0)))
        except idcard.InvalidIdNumber:
            continue
    return found


def text_of(content_type: str, body: bytes) -> str:
    """What a scan reads of an answer: JSON and text as they are, the XML inside an xlsx, a PDF's text."""
    if content_type.startswith("application/vnd.openxmlformats"):
        with zipfile.ZipFile(io.BytesIO(body)) as book:
            return "\n".join(book.read(name).decode("utf-8", "replace") for name in book.namelist())
    if content_type.startswith("application/pdf"):
        from pypdf import PdfReader

        return "\n".join(page.extract_text() or "" for page in PdfReader(io.BytesIO(body)).pages)
    return body.decode("utf-8", "replace")


@dataclass(frozen=True)
class Recorded:
    viewer: int | None
    method: str
    path: str
    status: int
    content_type: str
    body: bytes


@dataclass
class Scanner:
    # value → owners (user ids) for phones and ID numbers the data holds.
    phone_owners: dict[str, set[int]] = field(default_factory=dict)
    id_owners: dict[str, set[int]] = field(default_factory=dict)
    # Text that must appear nowhere, with what it is ("session_key", "check-in position").
    needles: dict[str, str] = field(default_factory=dict)
    # (actor, what, path) of the audit rows written, for the documented full views.
    audited: set[tuple[int, str, str]] = field(default_factory=set)
    # Route → the contact phones published on the records it answers with.
    published: list[tuple[re.Pattern[str], set[str]]] = field(default_factory=list)
    # More full views, matched against "METHOD path" (a console export is a POST to its list).
    full_views: dict[re.Pattern[str], str] = field(default_factory=dict)
    findings: list[str] = field(default_factory=list)

    def _needles(self, text: str, where: str) -> None:
        for needle, what in self.needles.items():
            if needle and needle in text:
                self.findings.append(f"{where}: {what} {mask(needle)}")

    def _full_view(self, record: Recorded) -> bool:
        for route, what in AUDITED_FULL_VIEWS.items():
            if route.match(record.path):
                return record.viewer is not None and (record.viewer, what, record.path) in self.audited
        for route, what in self.full_views.items():
            if route.match(f"{record.method} {record.path}"):
                return record.viewer is not None and (record.viewer, what, record.path) in self.audited
        return False

    def answer(self, record: Recorded) -> None:
        where = f"{record.method} {record.path} as user {record.viewer}"
        text = text_of(record.content_type, record.body)
        self._needles(text, where)
        for phone in set(MOBILE.findall(text)):
            if record.viewer in self.phone_owners.get(phone, ()):
                continue
            if self._full_view(record):
                continue
            if any(route.match(record.path) and phone in phones for route, phones in self.published):
                continue
            self.findings.append(f"{where}: unmasked phone {mask(phone)}")
        for number in set(valid_id_numbers(text)):
            if record.viewer in self.id_owners.get(number, ()):
                continue
            self.findings.append(f"{where}: plaintext ID number {mask(number)}")

    def log_lines(self, lines: Iterable[tuple[str, str]]) -> int:
        count = 0
        for logger, line in lines:
            count += 1
            where = f"log line of {logger}"
            self._needles(line, where)
            for phone in set(MOBILE.findall(line)):
                self.findings.append(f"{where}: phone {mask(phone)}")
            for number in set(valid_id_numbers(line)):
                self.findings.append(f"{where}: ID number {mask(number)}")
        return count

    def dump(self, text: str, *, gone: Iterable[str] = ()) -> None:
        """A database dump: no plaintext ID number, no needle, and nothing of what was erased (`gone`)."""
        self._needles(text, "database")
        for number in set(valid_id_numbers(text)):
            self.findings.append(f"database: plaintext ID number {mask(number)}")
        for value in gone:
            if value and value in text:
                self.findings.append(f"database: erased value {mask(value)} still stored")
