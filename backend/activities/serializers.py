"""Shapes of activities' input and output. Positions are GCJ-02 degrees; phones are masked."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation
from typing import Any

from django.db.models import Q
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from backend.accounts.models import User
from backend.accounts.scoping import limit_choices
from backend.brands.models import Brand
from backend.communities.models import Community, PartyOrganization, Place
from backend.core.fields import (
    MAX_ID,
    BoundedDateTimeField,
    ContentReviewField,
    UploadField,
    UploadListField,
    UploadSerializer,
)
from backend.core.models import Upload
from backend.core.serializers import FlatSerializer, moments

from .models import (
    RADIUS_MAX_M,
    RADIUS_MIN_M,
    Activity,
    ActivityPhoto,
    CheckIn,
    Enrollment,
    LeaveRequest,
    Minutes,
    checkin_opens,
    checkout_closes,
)
from .selectors import ROW_KEYS, Attendance
from .services import EDITABLE_FIELDS


class CoordinateField(serializers.DecimalField):
    """Degrees, rounded to 6 places (about 0.1 m): maps and phones send more digits than that means."""

    def __init__(self, *, limit: int, **kwargs: Any) -> None:
        super().__init__(
            max_digits=9,
            decimal_places=6,
            min_value=Decimal(-limit),
            max_value=Decimal(limit),
            coerce_to_string=False,
            **kwargs,
        )

    def validate_precision(self, value: Decimal) -> Decimal:
        try:
            rounded = value.quantize(Decimal("0.000001"), rounding=ROUND_HALF_EVEN)
        except InvalidOperation:
            # Too many digits to round at all (1e30): no coordinate.
            self.fail("max_digits", max_digits=self.max_digits)
        return super().validate_precision(rounded)


class CurrentOrOwnUploadField(UploadField):
    """An upload the caller owns, or the one already in place: re-sending an unchanged cover that a
    colleague uploaded must not fail."""

    def get_queryset(self):
        own = super().get_queryset()
        instance = getattr(self.parent, "instance", None)
        current_id = getattr(instance, f"{self.source}_id", None) if isinstance(instance, Activity) else None
        if current_id is None:
            return own
        return Upload.objects.filter(Q(pk__in=own.values("pk")) | Q(pk=current_id))


class ActivityWriteSerializer(serializers.ModelSerializer):
    """What staff send to create (POST) or change (PATCH) an activity; rules live in the services."""

    community = serializers.PrimaryKeyRelatedField(queryset=Community.objects.all())
    venue = serializers.PrimaryKeyRelatedField(
        queryset=Place.objects.all(),
        required=False,
        allow_null=True,
        help_text="a saved place of the community: its position, radius and name are taken",
    )
    latitude = CoordinateField(limit=90, required=False, help_text="GCJ-02; required without a venue")
    longitude = CoordinateField(limit=180, required=False, help_text="GCJ-02; required without a venue")
    radius_m = serializers.IntegerField(min_value=RADIUS_MIN_M, max_value=RADIUS_MAX_M, required=False)
    branch = serializers.PrimaryKeyRelatedField(
        queryset=PartyOrganization.objects.all(), required=False, allow_null=True
    )
    brand = serializers.PrimaryKeyRelatedField(queryset=Brand.objects.all(), required=False, allow_null=True)
    cover = CurrentOrOwnUploadField(kind=Upload.Kind.IMAGE, required=False, allow_null=True)
    points = serializers.IntegerField(
        min_value=0, max_value=1000, required=False, allow_null=True, help_text="omitted: the category's points rule"
    )

    class Meta:
        model = Activity
        # The service refuses any other field, so the serializer offers exactly what it accepts.
        fields = ["community", *EDITABLE_FIELDS]
        extra_kwargs = {"place": {"required": False}}

    def validate(self, attrs):
        attrs = super().validate(attrs)
        if self.instance is None and attrs.get("venue") is None:
            # Without a saved place, the position and the place text are the caller's to give.
            missing = [name for name in ("place", "latitude", "longitude") if attrs.get(name) in (None, "")]
            if missing:
                required = serializers.Field.default_error_messages["required"]
                raise serializers.ValidationError({name: [required] for name in missing})
        return attrs

    def get_fields(self):
        fields = super().get_fields()
        request = self.context.get("request")
        choices = limit_choices(getattr(request, "user", None), Community)
        if choices is not None:
            # A community outside the caller's scope reads as one that does not exist.
            # The stubs declare RelatedField.queryset as a manager descriptor, not a settable value.
            fields["community"].queryset = choices  # type: ignore[attr-defined]
        places = limit_choices(getattr(request, "user", None), Place)
        if places is not None:
            fields["venue"].queryset = places  # type: ignore[attr-defined]  # as above
        if isinstance(self.instance, Activity):
            fields["community"].read_only = True
        return fields


class ActivitySerializer(serializers.ModelSerializer):
    community_name = serializers.CharField(source="community.name", read_only=True)
    category_label = serializers.CharField(source="get_category_display", read_only=True)
    status_label = serializers.CharField(source="get_status_display", read_only=True)
    brand_name = serializers.CharField(source="brand.name", read_only=True, allow_null=True)
    branch_name = serializers.CharField(source="branch.name", read_only=True, allow_null=True)
    cover_image = UploadSerializer(source="cover", read_only=True, allow_null=True)
    latitude = serializers.DecimalField(max_digits=9, decimal_places=6, coerce_to_string=False, read_only=True)
    longitude = serializers.DecimalField(max_digits=9, decimal_places=6, coerce_to_string=False, read_only=True)
    checkin_opens_at = BoundedDateTimeField(read_only=True)
    checkout_closes_at = BoundedDateTimeField(read_only=True)
    enrolled_count = serializers.IntegerField(read_only=True, default=0)
    waitlisted_count = serializers.IntegerField(read_only=True, default=0)
    checked_in_count = serializers.IntegerField(read_only=True, default=0)
    my_enrollment = serializers.ChoiceField(
        choices=Enrollment.Status.choices, read_only=True, allow_null=True, default=None, help_text="the caller's"
    )
    my_checked_in = serializers.BooleanField(read_only=True, default=False, help_text="the caller's")

    class Meta:
        model = Activity
        fields = [
            "id",
            "community",
            "community_name",
            "organiser",
            "title",
            "category",
            "category_label",
            "description",
            "starts_at",
            "ends_at",
            "venue",
            "place",
            "latitude",
            "longitude",
            "radius_m",
            "capacity",
            "enrollment_required",
            "enrollment_deadline",
            "audience",
            "branch",
            "branch_name",
            "counts_as_service",
            "points",
            "brand",
            "brand_name",
            "cover",
            "cover_image",
            "checkin_opens_at",
            "checkout_closes_at",
            "status",
            "status_label",
            "published_at",
            "finished_at",
            "cancelled_at",
            "cancel_reason",
            "enrolled_count",
            "waitlisted_count",
            "checked_in_count",
            "my_enrollment",
            "my_checked_in",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


# The field ActivitySerializer formats coordinates with: unbound, it formats as a bound one does.
_COORDINATE = serializers.DecimalField(max_digits=9, decimal_places=6, coerce_to_string=False)


def _row_of(activity: Activity) -> dict[str, Any]:
    """An activity read through the ORM (selectors.with_counts) as the rows the community's page
    reads (selectors.community_page): its columns by attribute name, the names, cover and counts."""
    row = {key: getattr(activity, key) for key in ROW_KEYS}
    brand, branch = activity.brand, activity.branch
    mine = getattr(activity, "my_enrollment", None)
    row.update(
        community_name=activity.community.name,
        brand_name=None if brand is None else brand.name,
        branch_name=None if branch is None else branch.name,
        cover=activity.cover,
        enrolled_count=getattr(activity, "enrolled_count", 0),
        waitlisted_count=getattr(activity, "waitlisted_count", 0),
        checked_in_count=getattr(activity, "checked_in_count", 0),
        my_enrollment=None if mine is None else str(mine),
        my_checked_in=bool(getattr(activity, "my_checked_in", False)),
    )
    return row


def activity_rows(activities: Iterable[Activity], *, context: Mapping[str, Any]) -> list[dict[str, Any]]:
    """What ActivitySerializer writes for a list of activities read through the ORM (filtered lists;
    the community's page reads its rows without models: page_rows)."""
    return page_rows([_row_of(activity) for activity in activities], context=context)


_CATEGORY_LABELS = {value: str(label) for value, label in Activity._meta.get_field("category").flatchoices}
_STATUS_LABELS = {value: str(label) for value, label in Activity._meta.get_field("status").flatchoices}


def page_rows(rows: Iterable[Mapping[str, Any]], *, context: Mapping[str, Any]) -> list[dict[str, Any]]:
    """What ActivitySerializer writes for a list, written directly from rows (selectors.ActivityPage's):
    the community's activities are read by everyone who opens the mini-program, and DRF's field
    machinery (41 fields a row, four of them display methods it inspects per row) was most of the
    page's CPU. The serializer stays the schema; tests/activities/test_list_page.py and
    test_community_page.py hold the two to the same output."""
    rows = list(rows)
    covers = {row["cover_id"]: row["cover"] for row in rows if row["cover"] is not None}
    return with_covers(written_rows(rows), covers, context=context)


def with_covers(
    written: list[dict[str, Any]], covers: Mapping[int, Any], *, context: Mapping[str, Any]
) -> list[dict[str, Any]]:
    """`written_rows`' rows with each cover's image: its URLs are the upload's own business (signed
    for the request, thumbnails), never kept with a page. `covers`: the Uploads by id."""
    for row in written:
        cover = covers.get(row["cover"]) if row["cover"] is not None else None
        row["cover_image"] = None if cover is None else UploadSerializer(cover, context=context).data
    return written


def written_rows(rows: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """page_rows without the request: every field but `cover_image` (None here; with_covers writes it),
    which is what a kept page keeps (selectors.page.pages).

    Length: one dictionary, a line for each of the serializer's fields in its order, so that the two
    read side by side."""
    _moment = moments()
    written = []
    for a in rows:
        starts_at, ends_at = a["starts_at"], a["ends_at"]
        category, status = a["category"], a["status"]
        written.append(
            {
                "id": a["id"],
                "community": a["community_id"],
                "community_name": a["community_name"],
                "organiser": a["organiser_id"],
                "title": a["title"],
                "category": category,
                "category_label": _CATEGORY_LABELS.get(category, category),
                "description": a["description"],
                "starts_at": _moment(starts_at),
                "ends_at": _moment(ends_at),
                "venue": a["venue_id"],
                "place": a["place"],
                "latitude": _COORDINATE.to_representation(a["latitude"]),
                "longitude": _COORDINATE.to_representation(a["longitude"]),
                "radius_m": a["radius_m"],
                "capacity": a["capacity"],
                "enrollment_required": a["enrollment_required"],
                "enrollment_deadline": _moment(a["enrollment_deadline"]),
                "audience": a["audience"],
                "branch": a["branch_id"],
                "branch_name": a["branch_name"],
                "counts_as_service": a["counts_as_service"],
                "points": a["points"],
                "brand": a["brand_id"],
                "brand_name": a["brand_name"],
                "cover": a["cover_id"],
                "cover_image": None,
                "checkin_opens_at": _moment(checkin_opens(starts_at, a["checkin_opens_before_minutes"])),
                "checkout_closes_at": _moment(checkout_closes(ends_at, a["checkout_closes_after_minutes"])),
                "status": status,
                "status_label": _STATUS_LABELS.get(status, status),
                "published_at": _moment(a["published_at"]),
                "finished_at": _moment(a["finished_at"]),
                "cancelled_at": _moment(a["cancelled_at"]),
                "cancel_reason": a["cancel_reason"],
                "enrolled_count": a["enrolled_count"],
                "waitlisted_count": a["waitlisted_count"],
                "checked_in_count": a["checked_in_count"],
                "my_enrollment": a["my_enrollment"],
                "my_checked_in": a["my_checked_in"],
                "created_at": _moment(a["created_at"]),
                "updated_at": _moment(a["updated_at"]),
            }
        )
    return written


class PhotoSerializer(serializers.ModelSerializer):
    image = UploadSerializer(source="upload", read_only=True)
    content_review = ContentReviewField()

    class Meta:
        model = ActivityPhoto
        fields = ["id", "upload", "image", "added_by", "added_at", "content_review"]
        read_only_fields = fields


class ActivityDetailSerializer(ActivitySerializer):
    photos = serializers.SerializerMethodField()
    my_position = serializers.SerializerMethodField(help_text="the caller's place on the waiting list")

    class Meta(ActivitySerializer.Meta):
        fields = [*ActivitySerializer.Meta.fields, "photos", "my_position"]
        read_only_fields = fields

    @extend_schema_field(PhotoSerializer(many=True))
    def get_photos(self, activity: Activity) -> list[dict[str, Any]]:
        photos = self.context.get("photos", [])
        # many=True gives a ReturnList; the stubs type every serializer's .data as a ReturnDict.
        return PhotoSerializer(photos, many=True, context=self.context).data  # type: ignore[return-value]

    @extend_schema_field(serializers.IntegerField(allow_null=True))
    def get_my_position(self, activity: Activity) -> int | None:
        return self.context.get("my_position")


class CancelSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=500)


class EnrollmentResultSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="enrollment.pk")
    activity = serializers.IntegerField(source="enrollment.activity_id")
    status = serializers.ChoiceField(choices=Enrollment.Status.choices, source="enrollment.status")
    position = serializers.IntegerField(allow_null=True, help_text="place on the waiting list (1 = next in line)")
    created_at = BoundedDateTimeField(source="enrollment.created_at")


class CheckinCodeSerializer(serializers.Serializer):
    token = serializers.CharField()
    url = serializers.CharField(help_text="what the QR code holds: CHECKIN_QR_URL_PREFIX + token")
    issued_at = BoundedDateTimeField()
    refresh_at = BoundedDateTimeField(help_text="the next code appears then: fetch again")
    expires_at = BoundedDateTimeField(help_text="this code is refused from then on")
    period_seconds = serializers.IntegerField()
    qr_png = serializers.CharField(help_text="data:image/png;base64,… for <img src> / <image src>")


class PositionSerializer(FlatSerializer):
    client_id = serializers.UUIDField(help_text="generated by the phone; a retry sends the same one")
    token = serializers.CharField(max_length=500, help_text="from the scanned QR code (the whole URL is accepted too)")
    latitude = serializers.FloatField(min_value=-90, max_value=90, help_text="GCJ-02: wx.getLocation({type: 'gcj02'})")
    longitude = serializers.FloatField(min_value=-180, max_value=180, help_text="GCJ-02")
    accuracy = serializers.FloatField(
        min_value=0, max_value=100000, required=False, allow_null=True, help_text="metres"
    )


# Built once per class (FlatSerializer); the answer itself is written by check_in_payload.
class CheckInSerializer(FlatSerializer):
    """Declared field by field: a ModelSerializer would rebuild its fields from the model on every
    check-in, the busiest answer there is."""

    id = serializers.IntegerField(read_only=True)
    activity = serializers.IntegerField(source="activity_id", read_only=True)
    user = serializers.IntegerField(source="user_id", read_only=True)
    kind = serializers.ChoiceField(choices=CheckIn.Kind.choices, read_only=True)
    at = BoundedDateTimeField(read_only=True)
    client_id = serializers.UUIDField(read_only=True, allow_null=True)
    distance_m = serializers.IntegerField(read_only=True, allow_null=True, help_text="from the venue")
    accuracy_m = serializers.IntegerField(read_only=True, allow_null=True, help_text="as the phone reported it")
    inside = serializers.BooleanField(
        read_only=True, allow_null=True, help_text="within radius_m itself (false: accepted thanks to the accuracy)"
    )
    manual = serializers.BooleanField(read_only=True)


# Formats a time as CheckInSerializer's `at` does; unbound, it holds nothing between calls.
_AT = BoundedDateTimeField(read_only=True)


def check_in_payload(row: CheckIn) -> dict[str, Any]:
    """CheckInSerializer's output, written directly for the busiest answer there is; held to the
    serializer's by tests/activities/test_check_in_fast_path.py."""
    return {
        "id": row.pk,
        "activity": row.activity_id,
        "user": row.user_id,
        "kind": str(row.kind),
        "at": _AT.to_representation(row.at),
        "client_id": None if row.client_id is None else str(row.client_id),
        "distance_m": row.distance_m,
        "accuracy_m": row.accuracy_m,
        "inside": row.inside,
        "manual": row.manual,
    }


class _ServiceCheckedReason(serializers.CharField):
    """A reason the service refuses when blank, after it decides who may record for whom, so that
    recording oneself is 403 whatever the reason says; the schema still says one is needed."""

    def run_validation(self, data: Any = serializers.empty) -> Any:
        if isinstance(data, str) and not data.strip():
            return ""
        return super().run_validation(data)


class ManualAttendanceSerializer(serializers.Serializer):
    user = serializers.PrimaryKeyRelatedField(queryset=User.objects.filter(is_active=True))
    kind = serializers.ChoiceField(choices=CheckIn.Kind.choices, default=CheckIn.Kind.IN)
    reason = _ServiceCheckedReason(max_length=200, help_text="why by hand, e.g. 无智能手机")
    at = BoundedDateTimeField(required=False, allow_null=True, help_text="default: now")


class ManualCheckInSerializer(serializers.ModelSerializer):
    class Meta:
        model = CheckIn
        fields = ["id", "activity", "user", "kind", "at", "manual", "reason", "recorded_by"]
        read_only_fields = fields


class AttendanceRowSerializer(serializers.Serializer):
    user_id = serializers.IntegerField()
    real_name = serializers.CharField()
    phone = serializers.CharField(allow_null=True, help_text="masked")
    enrollment = serializers.ChoiceField(choices=Enrollment.Status.choices, allow_null=True)
    expected = serializers.BooleanField(help_text="enrolled, or a member of the meeting's branch")
    checked_in_at = BoundedDateTimeField(allow_null=True)
    check_in_manual = serializers.BooleanField()
    check_in_reason = serializers.CharField(allow_blank=True)
    distance_m = serializers.IntegerField(allow_null=True)
    inside = serializers.BooleanField(allow_null=True)
    checked_out_at = BoundedDateTimeField(allow_null=True)
    leave = serializers.ChoiceField(choices=LeaveRequest.Status.choices, allow_null=True)
    leave_reason = serializers.CharField(allow_blank=True)
    attendance = serializers.ChoiceField(choices=Attendance.choices, help_text="absent only once check-in has closed")


class AttendanceCountsSerializer(serializers.Serializer):
    enrolled = serializers.IntegerField()
    waitlisted = serializers.IntegerField()
    expected = serializers.IntegerField()
    checked_in = serializers.IntegerField()
    checked_out = serializers.IntegerField()
    on_leave = serializers.IntegerField()
    absent = serializers.IntegerField()


class AttendancePageSerializer(serializers.Serializer):
    count = serializers.IntegerField()
    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)
    closed = serializers.BooleanField(help_text="check-in has closed: whoever is expected and missing is absent")
    counts = AttendanceCountsSerializer()
    results = AttendanceRowSerializer(many=True)


class LeaveInputSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=500)


class DecisionSerializer(serializers.Serializer):
    note = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")


class LeaveRequestSerializer(serializers.ModelSerializer):
    activity_title = serializers.CharField(source="activity.title", read_only=True)
    user_name = serializers.CharField(source="user.real_name", read_only=True)

    class Meta:
        model = LeaveRequest
        fields = [
            "id",
            "activity",
            "activity_title",
            "user",
            "user_name",
            "reason",
            "status",
            "requested_at",
            "decided_by",
            "decided_at",
            "decision_note",
        ]
        read_only_fields = fields


class MinutesInputSerializer(serializers.Serializer):
    topics = serializers.CharField(max_length=5000)
    decisions = serializers.CharField(max_length=5000, required=False, allow_blank=True, default="")
    content = serializers.CharField(max_length=20000, required=False, allow_blank=True, default="")
    attachments = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=MAX_ID),
        max_length=20,
        required=False,
        help_text="upload ids (yours, or already attached)",
    )


class MinutesSerializer(serializers.ModelSerializer):
    attachments = UploadSerializer(many=True, read_only=True)

    class Meta:
        model = Minutes
        fields = [
            "activity",
            "topics",
            "decisions",
            "content",
            "attachments",
            "recorded_by",
            "recorded_at",
            "updated_by",
            "updated_at",
        ]
        read_only_fields = fields


class PhotosInputSerializer(serializers.Serializer):
    uploads = UploadListField(kind=Upload.Kind.IMAGE, min_length=1, max_length=9)
