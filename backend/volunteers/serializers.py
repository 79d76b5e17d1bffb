"""Shapes of volunteers' input and output. ID numbers are only ever shown masked; public answers
(leaderboards, verification) show names masked too."""

from __future__ import annotations

import re
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from backend.activities.models import Activity
from backend.communities.models import Community
from backend.core.fields import MAX_ID, BoundedDateField, BoundedDateTimeField, UploadField, UploadSerializer
from backend.core.periods import ALL, InvalidPeriod, parse_period

from . import selectors
from .models import Certificate, IdType, RecordCorrection, ServiceRecord, Volunteer, VolunteerTeam

HOURS: dict[str, Any] = {"max_digits": 10, "decimal_places": 2, "coerce_to_string": True}
TWO_PLACES = Decimal("0.01")


class ConsentMixin(serializers.Serializer):
    consent = serializers.BooleanField(
        required=False, default=False, help_text="true: agrees to the privacy notice before ID details are stored"
    )
    privacy_notice_version = serializers.CharField(
        required=False, allow_blank=True, max_length=32, help_text="the version the user read; must be the current one"
    )


# Volunteers --------------------------------------------------------------------------------------


class TeamBriefSerializer(serializers.ModelSerializer):
    class Meta:
        model = VolunteerTeam
        fields = ["id", "name", "community"]
        read_only_fields = fields


class VolunteerProfileSerializer(serializers.ModelSerializer):
    """My profile: `id, volunteer_number, total_hours, star_level, …` (the ID number masked)."""

    community_name = serializers.CharField(source="community.name", read_only=True)
    id_type_display = serializers.CharField(source="get_id_type_display", read_only=True)
    total_hours = serializers.SerializerMethodField()
    star_level = serializers.SerializerMethodField()
    next_star_hours = serializers.SerializerMethodField()
    teams = TeamBriefSerializer(many=True, read_only=True)

    class Meta:
        model = Volunteer
        fields = [
            "id",
            "volunteer_number",
            "real_name",
            "community",
            "community_name",
            "skills",
            "id_type",
            "id_type_display",
            "id_number_masked",
            "consent_version",
            "consent_at",
            "registered_via",
            "registered_on",
            "total_hours",
            "star_level",
            "next_star_hours",
            "teams",
        ]
        read_only_fields = fields

    def _total(self, volunteer: Volunteer) -> Decimal:
        total = getattr(volunteer, "total_hours", None)
        return total if total is not None else selectors.total_hours(volunteer.pk)

    @extend_schema_field(serializers.DecimalField(**HOURS))
    def get_total_hours(self, volunteer: Volunteer) -> str:
        return f"{self._total(volunteer):.2f}"

    @extend_schema_field(serializers.IntegerField(min_value=0, help_text="0 below the first threshold; 1-5 stars"))
    def get_star_level(self, volunteer: Volunteer) -> int:
        return selectors.star_level(self._total(volunteer))

    @extend_schema_field(serializers.DecimalField(allow_null=True, help_text="hours to the next star", **HOURS))
    def get_next_star_hours(self, volunteer: Volunteer) -> str | None:
        remaining = selectors.next_star_hours(self._total(volunteer))
        return f"{remaining:.2f}" if remaining is not None else None


# DRF's own formatting of a time (the current time zone, ISO 8601) and a date, for the answers
# written directly.
_TIME = serializers.DateTimeField()
_DATE = serializers.DateField()
_ID_TYPE_LABELS = dict(IdType.choices)


def own_profile_data(profile: selectors.OwnProfile) -> dict[str, Any]:
    """What VolunteerProfileSerializer writes, written directly from selectors.own_profile: the
    ModelSerializer built its fields from the model on every request, and the teams through a
    second one. The serializer stays the schema; tests/volunteers/test_own_profile.py holds the two
    to the same output."""
    total = profile.total_hours
    remaining = selectors.next_star_hours(total)
    return {
        "id": profile.id,
        "volunteer_number": profile.volunteer_number,
        "real_name": profile.real_name,
        "community": profile.community_id,
        "community_name": profile.community_name,
        "skills": profile.skills,
        "id_type": profile.id_type,
        "id_type_display": str(_ID_TYPE_LABELS.get(profile.id_type, profile.id_type)),
        "id_number_masked": profile.id_number_masked,
        "consent_version": profile.consent_version,
        "consent_at": None if profile.consent_at is None else _TIME.to_representation(profile.consent_at),
        "registered_via": profile.registered_via,
        "registered_on": _DATE.to_representation(profile.registered_on),
        "total_hours": f"{total:.2f}",
        "star_level": selectors.star_level(total),
        "next_star_hours": f"{remaining:.2f}" if remaining is not None else None,
        "teams": [{"id": team.id, "name": team.name, "community": team.community_id} for team in profile.teams],
    }


class VolunteerRegisterSerializer(ConsentMixin, serializers.Serializer):
    community = serializers.PrimaryKeyRelatedField(
        queryset=Community.objects.all(), required=False, help_text="default: the user's home community"
    )
    real_name = serializers.CharField(max_length=50, required=False, allow_blank=True)
    skills = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    id_type = serializers.ChoiceField(choices=IdType.choices, required=False)
    id_number = serializers.CharField(max_length=32, required=False, allow_blank=True, write_only=True)


class VolunteerUpdateSerializer(ConsentMixin, serializers.Serializer):
    community = serializers.PrimaryKeyRelatedField(queryset=Community.objects.all(), required=False)
    real_name = serializers.CharField(max_length=50, required=False)
    skills = serializers.CharField(max_length=200, required=False, allow_blank=True)
    id_type = serializers.ChoiceField(choices=IdType.choices, required=False)
    id_number = serializers.CharField(max_length=32, required=False, write_only=True)


class VolunteerSerializer(serializers.ModelSerializer):
    """A volunteer as staff in scope see them in a list."""

    community_name = serializers.CharField(source="community.name", read_only=True)
    total_hours = serializers.DecimalField(read_only=True, **HOURS)
    star_level = serializers.SerializerMethodField()

    class Meta:
        model = Volunteer
        fields = [
            "id",
            "volunteer_number",
            "real_name",
            "community",
            "community_name",
            "skills",
            "id_type",
            "id_number_masked",
            "registered_via",
            "registered_on",
            "total_hours",
            "star_level",
        ]
        read_only_fields = fields

    @extend_schema_field(serializers.IntegerField(min_value=0))
    def get_star_level(self, volunteer: Volunteer) -> int:
        # Annotated by the viewset's queryset (selectors.total_hours_subquery).
        return selectors.star_level(getattr(volunteer, "total_hours", None))


# Service records -------------------------------------------------------------------------------


class ServiceRecordSerializer(serializers.ModelSerializer):
    volunteer_number = serializers.CharField(source="volunteer.volunteer_number", read_only=True)
    volunteer_name = serializers.CharField(source="volunteer.real_name", read_only=True)
    community_name = serializers.CharField(source="community.name", read_only=True)
    activity_title = serializers.CharField(source="activity.title", read_only=True, allow_null=True)
    evidence = UploadSerializer(read_only=True, allow_null=True)
    correction_count = serializers.IntegerField(read_only=True, default=0)
    approved_by_name = serializers.CharField(source="approved_by.real_name", read_only=True, allow_null=True)

    class Meta:
        model = ServiceRecord
        fields = [
            "id",
            "volunteer",
            "volunteer_number",
            "volunteer_name",
            "community",
            "community_name",
            "activity",
            "activity_title",
            "content",
            "place",
            "started_at",
            "ended_at",
            "hours",
            "reported_started_at",
            "reported_ended_at",
            "source",
            "status",
            "overlap_flag",
            "over_cap_flag",
            "client_id",
            "evidence",
            "created_at",
            "approved_by",
            "approved_by_name",
            "approved_at",
            "rejected_at",
            "reject_reason",
            "correction_count",
        ]
        read_only_fields = fields


class ServiceRecordCreateSerializer(serializers.Serializer):
    """A record filed by hand. Hours are computed by the server: a client's `hours` is never read."""

    client_id = serializers.UUIDField()
    community = serializers.PrimaryKeyRelatedField(queryset=Community.objects.all(), help_text="the organiser")
    activity = serializers.PrimaryKeyRelatedField(queryset=Activity.objects.all(), required=False, allow_null=True)
    content = serializers.CharField(max_length=500)
    place = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    started_at = BoundedDateTimeField()
    ended_at = BoundedDateTimeField()
    evidence = UploadField(required=False, allow_null=True)


class ApproveSerializer(serializers.Serializer):
    confirm_flags = serializers.BooleanField(
        required=False,
        default=False,
        help_text="true: the reviewer has checked a record flagged for overlap or length (required to approve it)",
    )


class VolunteerReasonSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=500, allow_blank=True, required=False, default="")


class CorrectionCreateSerializer(serializers.Serializer):
    started_at = BoundedDateTimeField()
    ended_at = BoundedDateTimeField()
    reason = serializers.CharField(max_length=500, allow_blank=True, required=False, default="")


class RecordCorrectionSerializer(serializers.ModelSerializer):
    corrected_by_name = serializers.CharField(source="corrected_by.real_name", read_only=True)

    class Meta:
        model = RecordCorrection
        fields = [
            "id",
            "record",
            "previous_started_at",
            "previous_ended_at",
            "previous_hours",
            "started_at",
            "ended_at",
            "hours",
            "reason",
            "corrected_by",
            "corrected_by_name",
            "corrected_at",
        ]
        read_only_fields = fields


class PeriodField(serializers.CharField):
    """`2026`, `2026H1`, `2026Q3`, `2026-03` or `all`, parsed to a Period."""

    def to_internal_value(self, data: Any):
        text = super().to_internal_value(data)
        try:
            return parse_period(text)
        except InvalidPeriod as exc:
            raise serializers.ValidationError(str(exc)) from exc


class ExportQuerySerializer(serializers.Serializer):
    community = serializers.IntegerField(min_value=1, max_value=MAX_ID)
    period = PeriodField(
        required=False,
        default=parse_period("all"),  # type: ignore[arg-type]  # a Period, as to_internal_value makes one
        help_text="2026, 2026H1, 2026Q3, 2026-03 or all",
    )


# Leaderboards ----------------------------------------------------------------------------------


class LeaderboardQuerySerializer(serializers.Serializer):
    community = serializers.IntegerField(min_value=1, max_value=MAX_ID, required=False)
    street = serializers.IntegerField(min_value=1, max_value=MAX_ID, required=False)
    period = PeriodField(
        required=False,
        default=parse_period("all"),  # type: ignore[arg-type]  # a Period, as to_internal_value makes one
        help_text="2026, 2026H1, 2026Q3, 2026-03 or all",
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if ("community" in attrs) == ("street" in attrs):
            raise serializers.ValidationError({"community": [_("请指定社区或街道之一")]})
        return attrs


# A place's id as the leaderboard's links and the mini-program write it: no sign, no leading zero.
_PLACE_ID = re.compile(r"[1-9][0-9]{0,18}", re.ASCII)


def _plain_id(text: str | None) -> int | None:
    if text is None or not _PLACE_ID.fullmatch(text):
        return None
    value = int(text)
    return value if value <= MAX_ID else None


def leaderboard_query(params: Mapping[str, str]) -> dict[str, Any]:
    """LeaderboardQuerySerializer's validated data for the query string.

    The usual query (one place by its id, a period as the API writes it, or none) is read directly,
    without building and running DRF's fields on every request. Anything else, every error
    included, goes through the serializer, so its answers are the serializer's;
    tests/volunteers/test_leaderboard.py compares the two over good and bad queries.
    """
    community, street, period = params.get("community"), params.get("street"), params.get("period")
    key, place = ("street", _plain_id(street)) if community is None else ("community", _plain_id(community))
    one_place = (community is None) != (street is None)
    if one_place and place is not None and (period is None or (period != "" and period == period.strip())):
        try:
            return {key: place, "period": parse_period(period or ALL)}
        except InvalidPeriod:
            pass  # the serializer says what is wrong with it
    query = LeaderboardQuerySerializer(data=params)
    query.is_valid(raise_exception=True)
    return dict(query.validated_data)


class LeaderboardEntrySerializer(serializers.Serializer):
    rank = serializers.IntegerField()
    volunteer = serializers.IntegerField(source="volunteer.pk")
    volunteer_number = serializers.CharField(source="volunteer.volunteer_number")
    name = serializers.CharField(source="volunteer.masked_name", help_text="masked: the first character only")
    hours = serializers.DecimalField(help_text="approved hours in the period", **HOURS)
    total_hours = serializers.DecimalField(help_text="approved hours of all time", **HOURS)
    star_level = serializers.IntegerField()
    is_me = serializers.SerializerMethodField()

    @extend_schema_field(serializers.BooleanField())
    def get_is_me(self, row: selectors.LeaderboardRow) -> bool:
        return row.volunteer.user_id == self.context.get("user_id")


class OwnRankSerializer(serializers.Serializer):
    rank = serializers.IntegerField(allow_null=True, help_text="null: no approved hours here in the period")
    hours = serializers.DecimalField(**HOURS)


class LeaderboardPageSerializer(serializers.Serializer):
    """A page of the leaderboard, with the caller's own rank (null when not a volunteer)."""

    count = serializers.IntegerField()
    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)
    period = serializers.CharField()
    ranking = serializers.CharField(help_text="competition: equal hours share a rank, the next rank skips")
    me = OwnRankSerializer(allow_null=True)
    results = LeaderboardEntrySerializer(many=True)


def leaderboard_page_data(body: dict[str, Any], *, user_id: int | None) -> dict[str, Any]:
    """What LeaderboardPageSerializer writes, written directly: the leaderboard is read far more than
    anything else of volunteers, and DRF's field machinery was a sixth of its CPU. The serializer
    stays the schema; a test holds the two to the same output."""
    me = body["me"]
    return {
        **body,
        "me": None if me is None else {"rank": me.rank, "hours": _hours_text(me.hours)},
        "results": [
            {
                "rank": row.rank,
                "volunteer": row.volunteer.pk,
                "volunteer_number": row.volunteer.volunteer_number,
                "name": row.volunteer.masked_name,
                "hours": _hours_text(row.hours),
                "total_hours": _hours_text(row.total_hours),
                "star_level": row.star_level,
                "is_me": row.volunteer.user_id == user_id,
            }
            for row in body["results"]
        ],
    }


def _hours_text(value: Decimal) -> str:
    return str(value.quantize(TWO_PLACES))


# Certificates ----------------------------------------------------------------------------------


class CertificateSerializer(serializers.ModelSerializer):
    id_type_display = serializers.CharField(source="get_id_type_display", read_only=True)
    revoked = serializers.BooleanField(source="is_revoked", read_only=True)

    class Meta:
        model = Certificate
        fields = [
            "id",
            "number",
            "volunteer",
            "community",
            "volunteer_name",
            "volunteer_number",
            "id_type",
            "id_type_display",
            "id_number_masked",
            "period_start",
            "period_end",
            "hours",
            "record_count",
            "service_summary",
            "issuer_name",
            "person_in_charge",
            "handling_officer",
            "contact",
            "issued_by",
            "issued_at",
            "issued_on",
            "revoked",
            "revoked_at",
            "revoke_reason",
        ]
        read_only_fields = fields


class CertificateIssueSerializer(serializers.Serializer):
    volunteer = serializers.PrimaryKeyRelatedField(queryset=Volunteer.objects.all())
    community = serializers.PrimaryKeyRelatedField(
        queryset=Community.objects.all(),
        required=False,
        help_text="the issuing (organising) community; default: the caller's only community",
    )
    period_start = BoundedDateField()
    period_end = BoundedDateField()
    service_summary = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")
    person_in_charge = serializers.CharField(max_length=50, required=False, allow_blank=True)
    handling_officer = serializers.CharField(max_length=50, required=False, allow_blank=True)
    contact = serializers.CharField(max_length=50, required=False, allow_blank=True)
    client_id = serializers.UUIDField(required=False, allow_null=True)


class CertificateVerifySerializer(serializers.ModelSerializer):
    """What anyone holding the number may learn: genuine or not, and the masked essentials."""

    genuine = serializers.SerializerMethodField()
    revoked = serializers.BooleanField(source="is_revoked")
    volunteer_name = serializers.CharField(source="masked_name", help_text="masked: the first character only")
    id_type_display = serializers.CharField(source="get_id_type_display")

    class Meta:
        model = Certificate
        fields = [
            "number",
            "genuine",
            "revoked",
            "revoked_at",
            "volunteer_name",
            "id_type_display",
            "id_number_masked",
            "hours",
            "period_start",
            "period_end",
            "service_summary",
            "issuer_name",
            "issued_on",
        ]
        read_only_fields = fields

    @extend_schema_field(serializers.BooleanField(help_text="always true: an unknown number answers 404"))
    def get_genuine(self, certificate: Certificate) -> bool:
        return True
