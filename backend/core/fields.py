"""DRF pieces other apps use to take uploads by id (`photos: [id…]`, `evidence: id`) and show them."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from django import forms
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from .models import Upload
from .moderation import REVIEW_STATES, review_of
from .periods import FIRST_YEAR, LAST_YEAR
from .selectors import uploads_owned_by

# Every primary key is a bigint: no row has a larger id, and the database refuses to compare with one
# (SQLite raises OverflowError, PostgreSQL "out of range") instead of finding nothing.
MAX_ID = 2**63 - 1

_DOES_NOT_EXIST = _("上传文件 {pk_value} 不存在")
_WRONG_KIND = _("上传文件 {pk_value} 不是{kind}")


def _caller(field: serializers.Field) -> Any:
    request = field.context.get("request")
    return getattr(request, "user", None)


def _kind_label(kind: str) -> str:
    return str(Upload.Kind(kind).label)


class UploadField(serializers.PrimaryKeyRelatedField):
    """One upload id the caller owns; `kind="image"` where only a picture will do.

    Someone else's id is refused with the same message as an id that does not exist.
    """

    default_error_messages = {
        "does_not_exist": _DOES_NOT_EXIST,
        "incorrect_type": _("应为上传文件的 id"),
        "wrong_kind": _WRONG_KIND,
    }

    def __init__(self, *, kind: str | None = None, **kwargs: Any) -> None:
        self.kind = kind
        if not kwargs.get("read_only"):
            # Only names the model for the schema; get_queryset() narrows it to the caller's own.
            kwargs.setdefault("queryset", Upload.objects.all())
        super().__init__(**kwargs)

    def get_queryset(self):
        return uploads_owned_by(_caller(self))

    def to_internal_value(self, data: Any) -> Upload:
        upload = super().to_internal_value(data)
        if self.kind and upload.kind != self.kind:
            self.fail("wrong_kind", pk_value=upload.pk, kind=_kind_label(self.kind))
        return upload


class UploadListField(serializers.ListField):
    """Upload ids the caller owns, resolved in one query; order kept, repeats dropped."""

    default_error_messages = {"does_not_exist": _DOES_NOT_EXIST, "wrong_kind": _WRONG_KIND}

    def __init__(self, *, kind: str | None = None, **kwargs: Any) -> None:
        self.kind = kind
        kwargs.setdefault("child", serializers.IntegerField(min_value=1, max_value=MAX_ID))
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> list[Upload]:
        ids = list(dict.fromkeys(super().to_internal_value(data)))
        found = {upload.pk: upload for upload in uploads_owned_by(_caller(self), ids)}
        for pk in ids:
            if pk not in found:
                self.fail("does_not_exist", pk_value=pk)
            if self.kind and found[pk].kind != self.kind:
                self.fail("wrong_kind", pk_value=pk, kind=_kind_label(self.kind))
        return [found[pk] for pk in ids]

    def to_representation(self, data: Any) -> list[int]:
        if hasattr(data, "all"):
            data = data.all()
        return [getattr(item, "pk", item) for item in data]


class UploadSerializer(serializers.ModelSerializer):
    """How an upload is shown: here after POST /uploads/, and nested wherever a record shows its files."""

    url = serializers.SerializerMethodField()
    thumbnail_url = serializers.SerializerMethodField()

    class Meta:
        model = Upload
        fields = [
            "id",
            "url",
            "thumbnail_url",
            "kind",
            "content_type",
            "size",
            "width",
            "height",
            "original_name",
            "created_at",
        ]
        read_only_fields = fields

    def _absolute(self, url: str) -> str:
        # The mini-program's <image> and wx.downloadFile need full https URLs, not paths.
        request = self.context.get("request")
        return request.build_absolute_uri(url) if request is not None else url

    @extend_schema_field(serializers.URLField())
    def get_url(self, upload: Upload) -> str:
        return self._absolute(upload.file.url)

    @extend_schema_field(serializers.URLField(allow_null=True, help_text="images only"))
    def get_thumbnail_url(self, upload: Upload) -> str | None:
        return self._absolute(upload.thumbnail.url) if upload.thumbnail else None


class MaskedOnOutputRegexField(serializers.RegexField):
    """A value checked against a pattern on the way in, and masked (139****0001) for most readers on the
    way out: the schema states the pattern for requests only (backend/core/schema.py)."""

    masked_on_output = True


@extend_schema_field(
    serializers.ChoiceField(
        choices=REVIEW_STATES,
        allow_null=True,
        help_text=(
            "content check (内容安全): null once shown to everyone; pending (WeChat is checking), review "
            "(waiting for staff) or rejected. Only the author and staff see a record that is not null."
        ),
    )
)
class ContentReviewField(serializers.Field):
    """The record's review state (backend/core/moderation.py), read from the selector's annotation."""

    def __init__(self, *, holds: bool = True, **kwargs: Any) -> None:
        # holds=False: the flag of content only staff read, which nothing hides.
        self.holds = holds
        kwargs.update(source="*", read_only=True)
        super().__init__(**kwargs)

    def to_representation(self, value: Any) -> str | None:
        return review_of(value, holds=self.holds)


# Dates and times the API takes lie within the years a period may name. Near year 1 or 9999 the
# conversion to UTC (and a day added to a date) leaves what Python can represent: OverflowError, a
# 500, instead of an answer. The year is checked on the value as written, before any conversion.
OUT_OF_RANGE = _("日期须在 {first} 年至 {last} 年之间")


def out_of_range(value: Any, parse: Any = parse_datetime) -> bool:
    """Whether `value` (a date, a datetime, or text `parse` reads) names a year outside the range.
    Text that does not parse is not out of range: the field's own parsing refuses it."""
    if isinstance(value, str):
        try:
            value = parse(value.strip())
        except ValueError:
            return False
    return isinstance(value, date) and not FIRST_YEAR <= value.year <= LAST_YEAR


class BoundedDateTimeField(serializers.DateTimeField):
    """Every datetime the API takes: DRF's, refusing years outside 2000..2100 (a 400) before the
    timezone conversion that cannot represent them. ModelSerializers map model datetimes to it
    (backend/core/apps.py)."""

    default_error_messages = {"out_of_range": OUT_OF_RANGE}

    def to_internal_value(self, value: Any) -> datetime:
        if out_of_range(value):
            self.fail("out_of_range", first=FIRST_YEAR, last=LAST_YEAR)
        return super().to_internal_value(value)


class BoundedDateField(serializers.DateField):
    """A date the API takes that a service turns into a moment (a day's start, the day after), held
    to the same years as BoundedDateTimeField. Dates kept as dates (a birthday, the day someone
    joined the party) may be older and use DRF's own field."""

    default_error_messages = {"out_of_range": OUT_OF_RANGE}

    def to_internal_value(self, value: Any) -> date:
        if out_of_range(value, parse_date):
            self.fail("out_of_range", first=FIRST_YEAR, last=LAST_YEAR)
        return super().to_internal_value(value)


class BoundedFormFieldMixin:
    """The same years for a Django form field (the console's forms, the query string's filters): the
    text is checked before the field converts it, and what it made of other formats after."""

    parse: Any = staticmethod(parse_datetime)

    def _refuse(self) -> None:
        raise forms.ValidationError(str(OUT_OF_RANGE).format(first=FIRST_YEAR, last=LAST_YEAR), code="out_of_range")

    def to_python(self, value: Any) -> Any:
        if out_of_range(value, self.parse):
            self._refuse()
        value = super().to_python(value)  # type: ignore[misc] # mixed into a forms.Field
        if out_of_range(value):
            self._refuse()
        return value


class BoundedFormDateTimeField(BoundedFormFieldMixin, forms.DateTimeField):
    pass


class BoundedFormDateField(BoundedFormFieldMixin, forms.DateField):
    parse = staticmethod(parse_date)
