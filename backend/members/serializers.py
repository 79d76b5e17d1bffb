"""Shapes of members' input and output. Phones are masked in every list; ID numbers always."""

from __future__ import annotations

from typing import Any

from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field, extend_schema_serializer
from rest_framework import serializers

from backend.accounts.models import MOBILE_RE, User, mask_phone
from backend.communities.models import Community, Estate, Grid, PartyOrganization
from backend.core import idcard
from backend.core.fields import ContentReviewField, MaskedOnOutputRegexField, UploadListField, UploadSerializer
from backend.core.periods import InvalidPeriod, parse_period

from .models import (
    ConsentWithdrawal,
    Demand,
    DemandStep,
    MemberRegistration,
    PartyMember,
    PointsEntry,
    PointsRule,
    PostAssignment,
    PrivacyConsent,
    RegistrationStep,
    Resource,
    ServicePost,
    ServiceProject,
    UnitRegistration,
)

PHONE = {"invalid": _("请输入有效的中国大陆手机号")}


def phone_field(**kwargs: Any) -> serializers.RegexField:
    return MaskedOnOutputRegexField(MOBILE_RE, error_messages=PHONE, **kwargs)


class MaskedPhoneField(serializers.CharField):
    """A phone as everyone but its owner sees it: 139****0001."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("read_only", True)
        super().__init__(**kwargs)

    def to_representation(self, value: Any) -> str | None:
        return mask_phone(str(value)) if value else value


class ConsentMixin(serializers.Serializer):
    consent = serializers.BooleanField(
        required=False, default=False, help_text="true: agrees to the privacy notice (400 consent_required otherwise)"
    )
    privacy_notice_version = serializers.CharField(
        required=False, allow_blank=True, max_length=32, help_text="the version the user read; must be the current one"
    )


# 双报到 --------------------------------------------------------------------------------------


class RegistrationCreateSerializer(ConsentMixin, serializers.Serializer):
    community = serializers.PrimaryKeyRelatedField(queryset=Community.objects.all())
    grid = serializers.PrimaryKeyRelatedField(queryset=Grid.objects.all(), required=False, allow_null=True)
    organization = serializers.PrimaryKeyRelatedField(queryset=PartyOrganization.objects.all())
    real_name = serializers.CharField(max_length=50)
    phone = phone_field()
    status = serializers.ChoiceField(
        choices=PartyMember.Status.choices, help_text="full 正式党员 / probationary 预备党员"
    )
    joined_on = serializers.DateField(required=False, allow_null=True)
    employer = serializers.CharField(max_length=150, required=False, allow_blank=True)
    id_number = serializers.CharField(max_length=32, required=False, allow_blank=True, write_only=True)
    address = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    note = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")

    def validate_id_number(self, value: str) -> str:
        if not value:
            return value
        try:
            return idcard.validate(value)
        except idcard.InvalidIdNumber as exc:
            raise serializers.ValidationError(exc.reason) from exc

    def validate_joined_on(self, value):
        if value is not None and value > timezone.localdate():
            raise serializers.ValidationError(_("入党日期不能晚于今天"))
        return value


class RegistrationStepSerializer(serializers.ModelSerializer):
    actor = serializers.IntegerField(source="actor_id", read_only=True, allow_null=True)

    class Meta:
        model = RegistrationStep
        fields = ["from_status", "to_status", "actor", "reason", "at"]
        read_only_fields = fields


class RegistrationSerializer(serializers.ModelSerializer):
    """A registration as its member and the community's staff see it (phone masked, as in every list)."""

    phone = MaskedPhoneField()
    member = serializers.IntegerField(source="member_id", read_only=True)
    user = serializers.IntegerField(source="member.user_id", read_only=True)
    community_name = serializers.CharField(source="community.name", read_only=True)
    grid_name = serializers.CharField(source="grid.name", read_only=True, allow_null=True)
    organization_name = serializers.CharField(source="organization.name", read_only=True)
    member_status = serializers.CharField(source="member.status", read_only=True)
    id_number = serializers.CharField(source="member.id_number_masked", read_only=True)
    consent_version = serializers.CharField(source="consent.version", read_only=True)
    steps = RegistrationStepSerializer(
        many=True, read_only=True, help_text="every state the registration has passed through, oldest first"
    )

    class Meta:
        model = MemberRegistration
        fields = [
            "id",
            "member",
            "user",
            "community",
            "community_name",
            "grid",
            "grid_name",
            "organization",
            "organization_name",
            "real_name",
            "phone",
            "member_status",
            "id_number",
            "address",
            "note",
            "status",
            "reason",
            "consent_version",
            "submitted_at",
            "decided_at",
            "approved_at",
            "withdrawn_at",
            "steps",
        ]
        read_only_fields = fields


class ReasonSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=500, allow_blank=True, required=False, default="")

    class Meta:
        # Other apps have a ReasonSerializer of their own: one schema component name each.
        ref_name = "RejectionReason"


# One object, though it answers a viewset's `list`: the schema must not wrap it in an array.
@extend_schema_serializer(many=False)
class PrivacyNoticeSerializer(serializers.Serializer):
    version = serializers.CharField(help_text="the privacy notice version a registration must agree to")


class ConsentSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    purpose = serializers.ChoiceField(choices=PrivacyConsent.Purpose.choices)
    version = serializers.CharField(help_text="the privacy notice version agreed to")
    given_at = serializers.DateTimeField()
    withdrawn_at = serializers.DateTimeField(allow_null=True, help_text="null: standing, or superseded by a newer one")


class ConsentWithdrawSerializer(serializers.Serializer):
    purpose = serializers.ChoiceField(choices=PrivacyConsent.Purpose.choices)


class ConsentWithdrawalSerializer(serializers.ModelSerializer):
    version = serializers.CharField(source="consent.version", read_only=True)

    class Meta:
        model = ConsentWithdrawal
        fields = ["id", "purpose", "consent", "version", "withdrawn_at"]
        read_only_fields = fields


class UnitRegistrationSerializer(serializers.ModelSerializer):
    organization = serializers.PrimaryKeyRelatedField(queryset=PartyOrganization.objects.filter(is_unit=True))
    community = serializers.PrimaryKeyRelatedField(queryset=Community.objects.all())
    contact_phone = phone_field()
    organization_name = serializers.CharField(source="organization.name", read_only=True)
    community_name = serializers.CharField(source="community.name", read_only=True)

    class Meta:
        model = UnitRegistration
        fields = [
            "id",
            "organization",
            "organization_name",
            "community",
            "community_name",
            "agreement_date",
            "contact_name",
            "contact_phone",
            "resources",
            "status",
            "reason",
            "filed_by",
            "submitted_at",
            "decided_at",
            "approved_at",
            "withdrawn_at",
        ]
        read_only_fields = [
            "id",
            "status",
            "reason",
            "filed_by",
            "submitted_at",
            "decided_at",
            "approved_at",
            "withdrawn_at",
        ]
        extra_kwargs = {"organization": {"error_messages": {"does_not_exist": _("请选择单位党组织")}}}
        # One active registration per unit and community is the service's rule (409, not 400).
        validators: list = []

    def to_representation(self, instance: UnitRegistration) -> dict[str, Any]:
        data = super().to_representation(instance)
        data["contact_phone"] = mask_phone(instance.contact_phone)
        return data


class UnitRegistrationUpdateSerializer(serializers.Serializer):
    agreement_date = serializers.DateField(required=False, allow_null=True)
    contact_name = serializers.CharField(max_length=50, required=False)
    contact_phone = phone_field(required=False)
    resources = serializers.CharField(max_length=2000, required=False, allow_blank=True)


# Members -------------------------------------------------------------------------------------


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


# 三单 ----------------------------------------------------------------------------------------


class PersonSerializer(serializers.ModelSerializer):
    """Someone involved in a demand, by name only."""

    class Meta:
        model = User
        fields = ["id", "real_name"]
        read_only_fields = fields


class DemandStepSerializer(serializers.ModelSerializer):
    actor = PersonSerializer(read_only=True, allow_null=True)
    assignee = PersonSerializer(read_only=True, allow_null=True)
    evidence = UploadSerializer(many=True, read_only=True)

    class Meta:
        model = DemandStep
        fields = ["id", "action", "from_status", "to_status", "actor", "assignee", "note", "evidence", "at"]
        read_only_fields = fields


class DemandSerializer(serializers.ModelSerializer):
    community = serializers.PrimaryKeyRelatedField(queryset=Community.objects.all())
    grid = serializers.PrimaryKeyRelatedField(queryset=Grid.objects.all(), required=False, allow_null=True)
    estate = serializers.PrimaryKeyRelatedField(queryset=Estate.objects.all(), required=False, allow_null=True)
    contact_phone = phone_field(required=False, allow_blank=True)
    photos = UploadListField(kind="image", required=False, write_only=True)
    photo_files = UploadSerializer(source="photos", many=True, read_only=True)
    client_id = serializers.UUIDField(
        required=False, allow_null=True, help_text="generated by the phone; a retry with the same id answers 200"
    )
    community_name = serializers.CharField(source="community.name", read_only=True)
    requester = PersonSerializer(read_only=True)
    claimed_by = PersonSerializer(read_only=True, allow_null=True)
    claimed_organization_name = serializers.CharField(
        source="claimed_organization.name", read_only=True, allow_null=True
    )
    content_review = ContentReviewField()

    class Meta:
        model = Demand
        fields = [
            "id",
            "kind",
            "community",
            "community_name",
            "grid",
            "estate",
            "title",
            "description",
            "contact_name",
            "contact_phone",
            "photos",
            "photo_files",
            "client_id",
            "requester",
            "status",
            "claimed_by",
            "claimed_organization",
            "claimed_organization_name",
            "claimed_at",
            "done_at",
            "confirmed_at",
            "cancelled_at",
            "created_at",
            "content_review",
        ]
        read_only_fields = [
            "id",
            "status",
            "requester",
            "claimed_by",
            "claimed_organization",
            "claimed_at",
            "done_at",
            "confirmed_at",
            "cancelled_at",
            "created_at",
        ]

    def to_representation(self, instance: Demand) -> dict[str, Any]:
        data = super().to_representation(instance)
        # Whoever asked and whoever must go and help see the number; everyone else a masked one.
        user = getattr(self.context.get("request"), "user", None)
        uid = getattr(user, "pk", None)
        if not (self.context.get("detail") and uid in (instance.requester_id, instance.claimed_by_id)):
            data["contact_phone"] = mask_phone(instance.contact_phone)
        return data


class DemandDetailSerializer(DemandSerializer):
    steps = DemandStepSerializer(many=True, read_only=True, source="ordered_steps")

    class Meta(DemandSerializer.Meta):
        fields = [*DemandSerializer.Meta.fields, "steps"]


class ClaimSerializer(serializers.Serializer):
    organization = serializers.PrimaryKeyRelatedField(
        queryset=PartyOrganization.objects.filter(is_unit=True),
        required=False,
        allow_null=True,
        help_text="claim on behalf of this unit (its liaison only)",
    )


class DemandAssignSerializer(serializers.Serializer):
    member = serializers.PrimaryKeyRelatedField(queryset=PartyMember.objects.select_related("user"))
    note = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")


class DoneSerializer(serializers.Serializer):
    note = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")
    evidence = UploadListField(required=False, default=list, help_text="upload ids: photos or documents")


class NoteSerializer(serializers.Serializer):
    note = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")


class ResourceSerializer(serializers.ModelSerializer):
    community = serializers.PrimaryKeyRelatedField(queryset=Community.objects.all())
    organization = serializers.PrimaryKeyRelatedField(
        queryset=PartyOrganization.objects.filter(is_unit=True), required=False, allow_null=True
    )
    community_name = serializers.CharField(source="community.name", read_only=True)
    organization_name = serializers.CharField(source="organization.name", read_only=True, allow_null=True)
    content_review = ContentReviewField()

    class Meta:
        model = Resource
        fields = [
            "id",
            "community",
            "community_name",
            "title",
            "category",
            "description",
            "organization",
            "organization_name",
            "offered_by",
            "is_active",
            "created_at",
            "updated_at",
            "content_review",
        ]
        read_only_fields = ["id", "offered_by", "is_active", "created_at", "updated_at"]


class ResourceUpdateSerializer(serializers.Serializer):
    title = serializers.CharField(max_length=100, required=False)
    category = serializers.ChoiceField(choices=Resource.Category.choices, required=False)
    description = serializers.CharField(max_length=2000, required=False, allow_blank=True)
    is_active = serializers.BooleanField(required=False)


class ServiceProjectSerializer(serializers.ModelSerializer):
    community = serializers.PrimaryKeyRelatedField(queryset=Community.objects.all())
    owner = serializers.PrimaryKeyRelatedField(queryset=User.objects.filter(is_active=True))
    owner_name = serializers.CharField(source="owner.real_name", read_only=True)
    community_name = serializers.CharField(source="community.name", read_only=True)
    demands = serializers.PrimaryKeyRelatedField(queryset=Demand.objects.all(), many=True, required=False)
    resources = serializers.PrimaryKeyRelatedField(queryset=Resource.objects.all(), many=True, required=False)
    content_review = ContentReviewField()

    class Meta:
        model = ServiceProject
        fields = [
            "id",
            "community",
            "community_name",
            "name",
            "description",
            "owner",
            "owner_name",
            "demands",
            "resources",
            "status",
            "starts_on",
            "ends_on",
            "created_at",
            "updated_at",
            "content_review",
        ]
        read_only_fields = ["id", "created_at", "updated_at"]


class ServiceProjectUpdateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=100, required=False)
    description = serializers.CharField(max_length=4000, required=False, allow_blank=True)
    owner = serializers.PrimaryKeyRelatedField(queryset=User.objects.filter(is_active=True), required=False)
    demands = serializers.PrimaryKeyRelatedField(queryset=Demand.objects.all(), many=True, required=False)
    resources = serializers.PrimaryKeyRelatedField(queryset=Resource.objects.all(), many=True, required=False)
    status = serializers.ChoiceField(choices=ServiceProject.Status.choices, required=False)
    starts_on = serializers.DateField(required=False, allow_null=True)
    ends_on = serializers.DateField(required=False, allow_null=True)


# Points --------------------------------------------------------------------------------------


class PointsEntrySerializer(serializers.ModelSerializer):
    clamped = serializers.IntegerField(read_only=True, help_text="what a cap or the floor cut off")

    class Meta:
        model = PointsEntry
        fields = [
            "id",
            "kind",
            "rule_code",
            "source",
            "points",
            "requested_points",
            "clamped",
            "year",
            "reason",
            "created_at",
        ]
        read_only_fields = fields


class PointsRuleSerializer(serializers.ModelSerializer):
    class Meta:
        model = PointsRule
        fields = ["id", "code", "name", "points", "yearly_cap", "street"]
        read_only_fields = fields


class RankingRowSerializer(serializers.ModelSerializer):
    rank = serializers.IntegerField(read_only=True)
    total = serializers.IntegerField(read_only=True)
    organization_name = serializers.CharField(source="organization.name", read_only=True, allow_null=True)

    class Meta:
        model = PartyMember
        fields = ["rank", "id", "user", "real_name", "organization_name", "total"]
        read_only_fields = fields


class RankingQuerySerializer(serializers.Serializer):
    community = serializers.PrimaryKeyRelatedField(queryset=Community.objects.all(), required=False)
    year = serializers.IntegerField(min_value=2000, max_value=2100, required=False)


class YearQuerySerializer(serializers.Serializer):
    year = serializers.IntegerField(min_value=2000, max_value=2100, required=False)


class CorrectionSerializer(serializers.Serializer):
    member = serializers.PrimaryKeyRelatedField(queryset=PartyMember.objects.none())
    points = serializers.IntegerField(min_value=-10_000, max_value=10_000)
    reason = serializers.CharField(max_length=500)
    year = serializers.IntegerField(min_value=2000, max_value=2100, required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        request = self.context.get("request")
        if request is not None:
            from .selectors import members_for

            # A member outside the caller's scope is "not found", as a wrong id would be.
            self.fields["member"].queryset = members_for(request.user)
