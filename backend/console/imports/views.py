"""The import pages: the template workbook, the upload, the per-row preview and the save."""

from __future__ import annotations

import datetime as dt
import json
import zipfile
from dataclasses import dataclass, field
from datetime import timedelta
from io import BytesIO
from typing import Any, cast
from urllib.parse import quote

from django import forms
from django.apps import apps
from django.contrib import admin, messages
from django.core import signing
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from openpyxl import Workbook, load_workbook
from openpyxl.comments import Comment
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation
from unfold.widgets import UnfoldAdminFileFieldWidget, UnfoldAdminSelectWidget, UnfoldBooleanWidget

from backend.accounts.models import User
from backend.accounts.scoping import limit_choices
from backend.communities.models import Community, Street
from backend.core.console import XLSX_CONTENT_TYPE
from backend.core.xlsx import workbook_bytes
from backend.members import services as member_services
from backend.red_property import selectors as property_selectors

from .. import services as console_services
from ..pages import _page, _staff_only
from .cells import ImportKind, _DryRun, _text
from .kinds import IMPORT_MAX_BYTES, IMPORT_MAX_ROWS, IMPORTS, PAYLOAD_MAX_AGE

site = admin.site


def _import_kind(slug: str) -> ImportKind:
    kind = IMPORTS.get(slug)
    if kind is None:
        raise Http404
    if site._registry.get(apps.get_model(kind.model)) is None:
        raise PermissionDenied
    return kind


def _place_choices(user: User, kind: ImportKind) -> QuerySet[Community] | QuerySet[Street]:
    if kind.place == "street":
        streets = property_selectors.reachable_street_ids(user)
        return Street.objects.all() if streets is None else Street.objects.filter(id__in=streets)
    communities = limit_choices(user, Community)
    return Community.objects.all() if communities is None else communities


class ImportForm(forms.Form):
    # Unfold's widgets: its script expects its own markup around every file input.
    place = forms.ModelChoiceField(label="社区", queryset=Community.objects.none(), widget=UnfoldAdminSelectWidget)
    file = forms.FileField(label="Excel 文件(.xlsx)", widget=UnfoldAdminFileFieldWidget)
    attested = forms.BooleanField(label="确认", required=False, widget=UnfoldBooleanWidget)

    def __init__(
        self, *args: Any, kind: ImportKind, places: QuerySet[Community] | QuerySet[Street], **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.kind = kind
        place = cast(forms.ModelChoiceField, self.fields["place"])
        place.queryset = places
        place.label = "街道" if kind.place == "street" else "社区"
        only = places.first() if places.count() == 1 else None
        if only is not None:
            place.initial = only.pk
        if kind.attestation:
            self.fields["attested"].required = True
            self.fields["attested"].label = kind.attestation.format(version=member_services.privacy_notice_version())
        else:
            del self.fields["attested"]

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > IMPORT_MAX_BYTES:
            raise forms.ValidationError("文件不能超过 5 MB")
        if not upload.name.lower().endswith(".xlsx"):
            raise forms.ValidationError("请上传 .xlsx 格式的 Excel 文件(可先下载模板)")
        return upload


HEADER_SEARCH_ROWS = 3
LINE = "_line"


# Lines read in all, blank ones included: a sheet of a few kilobytes can hold a million rows of a
# space each, and skipping them costs as much as reading them.
IMPORT_MAX_LINES = 2 * IMPORT_MAX_ROWS + HEADER_SEARCH_ROWS
# What the .xlsx (a zip) may unpack to, and any one sheet of it: openpyxl reads a sheet's whole XML
# before the first row (to find its size when the file does not say), so the bound on lines cannot
# help there. A full sheet of IMPORT_MAX_ROWS rows of the widest kind is about 3 MB of sheet XML.
IMPORT_MAX_UNPACKED = 32 * 1024 * 1024
IMPORT_MAX_SHEET_XML = 8 * 1024 * 1024
# Columns read per line: a sheet claiming 16,384 columns is padded to them on every row otherwise.
IMPORT_MAX_COLUMNS = 60


def _check_unpacked_size(data: bytes) -> None:
    try:
        with zipfile.ZipFile(BytesIO(data)) as archive:
            entries = archive.infolist()
    except zipfile.BadZipFile as exc:
        raise forms.ValidationError("无法读取该文件, 请确认是 .xlsx 格式的 Excel 文件") from exc
    sheets = [entry.file_size for entry in entries if entry.filename.startswith("xl/worksheets/")]
    if sum(entry.file_size for entry in entries) > IMPORT_MAX_UNPACKED or max(sheets, default=0) > IMPORT_MAX_SHEET_XML:
        raise forms.ValidationError("文件内容过大, 请删除多余的行列或分批导入")


def read_sheet(data: bytes, kind: ImportKind) -> list[dict[str, Any]]:
    """The data rows as {column key: cell value}, by the headers of the first row."""
    _check_unpacked_size(data)
    try:
        book = load_workbook(BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a file that is not a workbook
        raise forms.ValidationError("无法读取该文件, 请确认是 .xlsx 格式的 Excel 文件") from exc
    try:
        sheet = book.worksheets[0]
        lines = sheet.iter_rows(values_only=True, max_col=IMPORT_MAX_COLUMNS)
        by_header = {column.header: column for column in kind.columns}
        positions: dict[str, int] = {}
        # The headers are the first row naming a column: the template has its note row above them.
        line_number = 0
        for _skipped in range(HEADER_SEARCH_ROWS):
            line_number += 1
            headers = [_text(cell) for cell in next(lines, None) or ()]
            positions = {by_header[name].key: index for index, name in enumerate(headers) if name in by_header}
            if positions:
                break
        missing = [column.header for column in kind.columns if column.required and column.key not in positions]
        if missing:
            raise forms.ValidationError(f"第一行缺少列: {'、'.join(missing)}(请使用模板)")
        rows = []
        for line in lines:
            line_number += 1
            if line_number > IMPORT_MAX_LINES:
                raise forms.ValidationError(
                    f"表格行数过多(含空行), 一次最多导入 {IMPORT_MAX_ROWS} 行, 请删除空行或分批导入"
                )
            if not any(_text(cell) for cell in line):
                continue
            row = {key: (line[index] if index < len(line) else None) for key, index in positions.items()}
            row[LINE] = line_number  # the sheet's own row number, for the secretary to find it
            rows.append(row)
            if len(rows) > IMPORT_MAX_ROWS:
                raise forms.ValidationError(f"一次最多导入 {IMPORT_MAX_ROWS} 行, 请分批导入")
        if not rows:
            raise forms.ValidationError("表中没有数据行")
        return rows
    finally:
        book.close()


def _jsonable(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


@dataclass
class Outcome:
    rows: list[dict[str, Any]]
    errors: list[list[str]] = field(default_factory=list)

    @property
    def bad(self) -> int:
        return sum(1 for errors in self.errors if errors)

    def lines(self, kind: ImportKind) -> list[dict[str, Any]]:
        return [
            {
                "number": row.get(LINE, index + 2),
                "cells": [_text(row.get(c.key)) for c in kind.columns],
                "errors": errors,
            }
            for index, (row, errors) in enumerate(zip(self.rows, self.errors, strict=True))
        ]


def run_import(kind: ImportKind, rows: list[dict[str, Any]], actor: Any, place: Any, attested: bool, *, save: bool):
    """Every row through the app's services. Without `save` everything is rolled back (the preview);
    with it, one refused row rolls back the whole file: nothing is half-imported."""
    outcome = Outcome(rows=rows)
    try:
        with transaction.atomic():
            outcome.errors = kind.apply(rows, actor, place, attested)
            if not save or outcome.bad:
                raise _DryRun
    except _DryRun:
        pass
    return outcome


def _record_run(
    by: User,
    kind: ImportKind,
    place: Any,
    file_name: str,
    *,
    outcome: Outcome | None = None,
    file_error: str = "",
    saved: bool = False,
) -> None:
    """Every upload and confirmation leaves its row, errors by row and column, for the 工作台's
    导入待处理 (nothing else of the sheet is kept)."""
    if outcome is not None:
        lines = [(line["number"], line["errors"]) for line in outcome.lines(kind)]
        errors = console_services.import_errors(lines, columns=[column.header for column in kind.columns])
        rows, bad = len(outcome.rows), outcome.bad
    else:
        errors = [{"row": None, "column": "", "message": file_error}]
        rows, bad = 0, 0
    console_services.record_import_run(
        by=by,
        kind=kind.slug,
        place=place,
        file_name=file_name,
        rows=rows,
        rows_applied=rows if saved and outcome is not None and not bad else 0,
        error_rows=bad,
        errors=errors,
        saved=saved,
    )


def _signer(user: User, kind: ImportKind) -> signing.TimestampSigner:
    return signing.TimestampSigner(salt=f"console-import:{kind.slug}:{user.pk}")


TEMPLATE_ROWS = 500  # how far down the text format and the dropdowns reach


def _template_workbook(kind: ImportKind) -> HttpResponse:
    """The template: a note row, the headers (an example in each header's comment), ID and phone
    columns formatted as text, and dropdowns where a column takes a fixed set of values."""
    book = Workbook()
    sheet = book.active
    sheet.title = kind.title
    last = get_column_letter(len(kind.columns))
    required = "、".join(column.header for column in kind.columns if column.required)
    note = f"填写说明: 从第 3 行起每行一条; 必填列: {required}; 有下拉箭头的列请从中选择。"
    if kind.note:
        note += f" {kind.note}"
    sheet.append([note])
    sheet.merge_cells(f"A1:{last}1")
    sheet["A1"].alignment = Alignment(wrap_text=True, vertical="top")
    sheet["A1"].font = Font(color="B91C1C")
    sheet.row_dimensions[1].height = 48
    sheet.append([column.header for column in kind.columns])
    for index, column in enumerate(kind.columns, start=1):
        letter = get_column_letter(index)
        header = sheet.cell(row=2, column=index)
        header.font = Font(bold=True)
        if column.example:
            header.comment = Comment(f"例: {column.example}", "社区党建工作台")
        sheet.column_dimensions[letter].width = max(12, len(column.header) * 2 + 4, 20 if column.text else 0)
        cells = f"{letter}3:{letter}{TEMPLATE_ROWS + 2}"
        if column.text:
            for (cell,) in sheet[cells]:
                cell.number_format = "@"
        if column.choices:
            listed = DataValidation(
                type="list",
                formula1='"' + ",".join(column.choices) + '"',
                allow_blank=not column.required,
                showErrorMessage=True,
                errorTitle=column.header,
                error=f"请从下拉列表中选择: {'、'.join(column.choices)}",
            )
            sheet.add_data_validation(listed)
            listed.add(cells)
    sheet.freeze_panes = "A3"
    response = HttpResponse(workbook_bytes(book), content_type=XLSX_CONTENT_TYPE)
    response["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(kind.title + '模板.xlsx')}"
    return response


def import_index(request: HttpRequest) -> HttpResponse:
    _staff_only(request)
    kinds = list(IMPORTS.values())
    return _page(request, "console/import_index.html", "Excel 导入", kinds=kinds)


def import_view(request: HttpRequest, slug: str) -> HttpResponse:
    """Upload → a preview of every row with its errors (nothing saved) → confirm → saved."""
    kind = _import_kind(slug)
    user = _staff_only(request)
    if request.method == "GET" and request.GET.get("template"):
        return _template_workbook(kind)
    places = _place_choices(user, kind)
    context: dict[str, Any] = {"kind": kind, "headers": [column.header for column in kind.columns]}
    if request.method == "POST" and "payload" in request.POST:
        return _confirm(request, user, kind, places, context)
    if request.method == "POST":
        form = ImportForm(request.POST, request.FILES, kind=kind, places=places)
        if form.is_valid():
            context.update(_preview(user, kind, form))
    else:
        form = ImportForm(kind=kind, places=places)
    context["form"] = form
    return _page(request, "console/import.html", kind.title, **context)


def _preview(user: User, kind: ImportKind, form: ImportForm) -> dict[str, Any]:
    """The uploaded sheet checked row by row and rolled back; the signed rows to confirm when all
    are right. A sheet that cannot be read is the file field's error."""
    place = form.cleaned_data["place"]
    file_name = form.cleaned_data["file"].name
    try:
        rows = read_sheet(form.cleaned_data["file"].read(), kind)
    except forms.ValidationError as exc:
        form.add_error("file", exc)
        _record_run(user, kind, place, file_name, file_error="; ".join(exc.messages))
        return {}
    rows = [{key: _jsonable(value) for key, value in row.items()} for row in rows]
    attested = bool(form.cleaned_data.get("attested"))
    outcome = run_import(kind, rows, user, place, attested, save=False)
    _record_run(user, kind, place, file_name, outcome=outcome)
    preview: dict[str, Any] = {"outcome": outcome, "lines": outcome.lines(kind), "place": place}
    if not outcome.bad:
        payload = {"rows": rows, "place": place.pk, "attested": attested, "file_name": file_name}
        preview["payload"] = _signer(user, kind).sign(json.dumps(payload, ensure_ascii=False))
    return preview


def _confirm(
    request: HttpRequest,
    user: User,
    kind: ImportKind,
    places: QuerySet[Community] | QuerySet[Street],
    context: dict[str, Any],
) -> HttpResponse:
    """Saves the rows the preview signed for this user, all in one transaction or none."""
    try:
        payload = json.loads(
            _signer(user, kind).unsign(request.POST["payload"], max_age=timedelta(seconds=PAYLOAD_MAX_AGE))
        )
    except (signing.BadSignature, ValueError):
        messages.error(request, "预览已过期或无效, 请重新上传")
        return HttpResponseRedirect(request.path)
    place = places.filter(pk=payload["place"]).first()
    if place is None:
        raise PermissionDenied
    outcome = run_import(kind, payload["rows"], user, place, payload["attested"], save=True)
    _record_run(user, kind, place, payload.get("file_name", ""), outcome=outcome, saved=True)
    if not outcome.bad:
        messages.success(request, f"已导入 {len(outcome.rows)} 行")
        model = apps.get_model(kind.model)
        return HttpResponseRedirect(reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist"))
    form = ImportForm(kind=kind, places=places, initial={"place": place.pk})
    context.update(form=form, outcome=outcome, lines=outcome.lines(kind), place=place)
    messages.error(request, "数据已有变化, 以下行不能导入, 未保存任何数据")
    return _page(request, "console/import.html", kind.title, **context)
