"""Members as staff and the member see them, their points summary, and service posts."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from backend.communities.models import Community
from backend.core.periods import InvalidPeriod, parse_period

from ..models import (
    MemberRegistration,
    PartyMember,
    PostAssignment,
    ServicePost,
)
from .fields import MaskedPhoneField
from .registrations import RegistrationSerializer, UnitRegistrationSerializer


class ActiveRegistrationSerializer(serializers.ModelSerializer):
    community_name = serializers.CharField(source="community.name", read_only=True)
    grid_name = serializers.CharField(source="grid.name", read_only=True, allow_null=True)

    class Meta:
        model = MemberRegistration
        fields = ["id", "community", "community_name", "grid", "grid_name", "status", "approved_at"]
        read_only_fields = fields


REGISTRATION_STATUS_LABELS = dict(MemberRegistration.Status.choices)


class MemberSerializer(serializers.ModelSerializer):
    """A member in a list: phone and ID masked; political status, as only those in scope get this far."""

    phone = MaskedPhoneField()
    id_number = serializers.CharField(source="id_number_masked", read_only=True)
    organization_name = serializers.CharField(source="organization.name", read_only=True, allow_null=True)
    registration = serializers.SerializerMethodField()
    registration_status = serializers.ChoiceField(
        choices=[*MemberRegistration.Status.choices, ("none", "未报到")],
        read_only=True,
        help_text="报到状态: the standing registration's status (pending, approved), none without one",
    )
    registration_status_display = serializers.SerializerMethodField(help_text="报到状态 in Chinese")
    post_count = serializers.IntegerField(read_only=True, default=0)
    points_year = serializers.IntegerField(read_only=True, default=0, help_text="this calendar year's points")

    class Meta:
        model = PartyMember
        fields = [
            "id",
            "user",
            "real_name",
            "phone",
            "organization",
            "organization_name",
            "status",
            "joined_on",
            "employer",
            "id_number",
            "registration",
            "registration_status",
            "registration_status_display",
            "post_count",
            "points_year",
        ]
        read_only_fields = fields

    def get_registration_status_display(self, member: PartyMember) -> str:
        return REGISTRATION_STATUS_LABELS.get(getattr(member, "registration_status", "none"), "未报到")

    @extend_schema_field(ActiveRegistrationSerializer(allow_null=True))
    def get_registration(self, member: PartyMember) -> dict[str, Any] | None:
        active = getattr(member, "active_registrations", None)
        if active is None:
            active = list(member.registrations.filter(status__in=MemberRegistration.ACTIVE_STATUSES))
        return ActiveRegistrationSerializer(active[0]).data if active else None


class MyMemberSerializer(MemberSerializer):
    """The member's own record: their own phone in full (it is theirs); the ID number still masked."""

    phone = serializers.CharField(read_only=True)


class AssignmentSerializer(serializers.ModelSerializer):
    post_name = serializers.CharField(source="post.name", read_only=True)
    community = serializers.IntegerField(source="post.community_id", read_only=True)

    class Meta:
        model = PostAssignment
        fields = ["id", "post", "post_name", "community", "claimed_at", "left_at"]
        read_only_fields = fields


class PointsSummarySerializer(serializers.Serializer):
    year = serializers.IntegerField()
    year_total = serializers.IntegerField()
    total = serializers.IntegerField()


class MemberMeSerializer(serializers.Serializer):
    member = MyMemberSerializer(allow_null=True)
    registrations = RegistrationSerializer(many=True)
    unit_registrations = UnitRegistrationSerializer(many=True)
    posts = AssignmentSerializer(many=True)
    min_posts = serializers.IntegerField(help_text="how many posts each member is expected to hold")
    points = PointsSummarySerializer()
    privacy_notice_version = serializers.CharField()
    report = serializers.JSONField(
        allow_null=True,
        help_text=(
            "my own line of the 双报告 for `period` (default: this year): period, start, end, target, "
            "community, grid, posts, activities attended, 三会一课 attendance, approved volunteer hours, "
            "points, demands completed, meets_target; null for someone who is not a party member"
        ),
    )


class MemberMeQuerySerializer(serializers.Serializer):
    period = serializers.CharField(
        max_length=16, required=False, help_text="the 双报告 period shown: 2026, 2026H1, 2026Q3 or 2026-03"
    )

    def validate_period(self, value: str) -> str:
        try:
            period = parse_period(value)
        except InvalidPeriod as exc:
            raise serializers.ValidationError(str(exc)) from None
        if period.is_all:
            raise serializers.ValidationError("须指定年度、半年、季度或月份")
        return value.strip().upper()


# Service posts -------------------------------------------------------------------------------


class ServicePostSerializer(serializers.ModelSerializer):
    community = serializers.PrimaryKeyRelatedField(queryset=Community.objects.all())
    community_name = serializers.CharField(source="community.name", read_only=True)
    taken = serializers.IntegerField(read_only=True, default=0)
    held_by_me = serializers.BooleanField(read_only=True, default=False)

    class Meta:
        model = ServicePost
        fields = [
            "id",
            "community",
            "community_name",
            "name",
            "description",
            "capacity",
            "taken",
            "held_by_me",
            "is_active",
            "created_at",
        ]
        read_only_fields = ["id", "community_name", "taken", "held_by_me", "created_at"]
        extra_kwargs = {"capacity": {"min_value": 1, "max_value": 10_000}}
        # A duplicate name is reported on the `name` field by the service.
        validators: list = []


class ServicePostUpdateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=100, required=False)
    description = serializers.CharField(max_length=2000, required=False, allow_blank=True)
    capacity = serializers.IntegerField(min_value=1, max_value=10_000, required=False)
    is_active = serializers.BooleanField(required=False)


class HolderSerializer(serializers.ModelSerializer):
    member = serializers.IntegerField(source="member_id", read_only=True)
    real_name = serializers.CharField(source="member.real_name", read_only=True)
    phone = MaskedPhoneField(source="member.phone")

    class Meta:
        model = PostAssignment
        fields = ["id", "member", "real_name", "phone", "claimed_at"]
        read_only_fields = fields
