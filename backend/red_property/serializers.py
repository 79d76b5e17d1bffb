"""Shapes of red-property input and output. Phones are masked in lists; a single record shows them whole."""

from __future__ import annotations

from collections.abc import MutableMapping
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from backend.accounts.models import mask_phone
from backend.communities.models import Estate, PartyOrganization
from backend.core.fields import MaskedOnOutputRegexField
from backend.core.phones import PHONE_RE

from .models import (
    AssessmentItem,
    AssessmentStandard,
    CommitteeRole,
    EstateAssessment,
    EstateGovernance,
    FollowUpItem,
    JointMeeting,
    JointMeetingParticipant,
    OwnersCommittee,
    PropertyCompany,
    ResidentsCommittee,
    SelfGovernanceGroup,
    SelfGovernanceMeeting,
    SelfGovernanceMember,
)
from .selectors import today

# Field kwargs splatted into several fields: typed as kwargs, not by their values.
PHONE_ERRORS: dict[str, Any] = {"invalid": _("请输入有效的手机号或带区号的固定电话")}
POINTS: dict[str, Any] = {"max_digits": 5, "decimal_places": 1}
TOTAL_POINTS: dict[str, Any] = {"max_digits": 8, "decimal_places": 1}

# Context key: set by views that show one record to staff in scope, where phones are shown whole.
FULL_PHONES = "full_phones"


def _show_phone(serializer: serializers.Field, phone: str) -> str:
    if not phone:
        return phone
    return phone if serializer.context.get(FULL_PHONES) else (mask_phone(phone) or "")


def _today(serializer: serializers.Field) -> date:
    # One date per response, so every row of a list is judged against the same day.
    context = serializer.context
    if not isinstance(context, MutableMapping):
        return today()
    if "today" not in context:
        context["today"] = today()
    return context["today"]


class PhoneField(MaskedOnOutputRegexField):
    """A phone in, and out masked (139****0001) unless the view shows one record in full."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("required", False)
        kwargs.setdefault("allow_blank", True)
        kwargs.setdefault("max_length", 20)
        super().__init__(PHONE_RE, error_messages=PHONE_ERRORS, **kwargs)

    def to_representation(self, value: Any) -> str:
        return _show_phone(self, str(value or ""))


class EstateChoiceField(serializers.PrimaryKeyRelatedField):
    """An estate id; the view narrows the choices to the caller's scope (others read as missing)."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("queryset", Estate.objects.all())
        super().__init__(**kwargs)


if TYPE_CHECKING:
    _SerializerBase = serializers.ModelSerializer
else:
    _SerializerBase = object


class CreateOnlyMixin(_SerializerBase):
    """Fields that place a record (its estate, street, year) are set once, then read only."""

    create_only_fields: tuple[str, ...] = ()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance is not None and not isinstance(self.instance, list | tuple):
            for name in self.create_only_fields:
                if name in self.fields:
                    self.fields[name].read_only = True


# Property companies -----------------------------------------------------------------------------


class PropertyCompanySerializer(serializers.ModelSerializer):
    street_name = serializers.CharField(source="street.name", read_only=True)
    contact_phone = PhoneField()
    party_organization_name = serializers.CharField(
        source="party_organization.name", read_only=True, allow_null=True, default=None
    )
    has_party_organization = serializers.BooleanField(read_only=True)
    estate_count = serializers.IntegerField(read_only=True, default=0, help_text="在管小区数")

    class Meta:
        model = PropertyCompany
        fields = [
            "id",
            "name",
            "credit_code",
            "street",
            "street_name",
            "address",
            "contact_name",
            "contact_phone",
            "party_organization",
            "party_organization_name",
            "has_party_organization",
            "party_member_count",
            "estate_count",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["id", "created_at", "updated_at"]
        extra_kwargs = {"party_member_count": {"min_value": 0, "max_value": 100_000}}


# Estate governance ------------------------------------------------------------------------------


def _governance(estate: Estate) -> EstateGovernance | None:
    try:
        return estate.governance
    except EstateGovernance.DoesNotExist:
        return None


class GovernanceSerializer(serializers.Serializer):
    """An estate's governance, as the list and PATCH answer it. `id` is the estate's id."""

    id = serializers.IntegerField(source="pk", read_only=True, help_text="小区 id (与 estate 相同)")
    estate = serializers.IntegerField(source="pk", read_only=True)
    name = serializers.CharField(read_only=True)
    community = serializers.IntegerField(source="community_id", read_only=True)
    community_name = serializers.CharField(source="community.name", read_only=True)
    grid = serializers.IntegerField(source="grid_id", read_only=True, allow_null=True)
    households = serializers.IntegerField(read_only=True)
    has_property_service = serializers.BooleanField(read_only=True)
    property_company = serializers.SerializerMethodField()
    property_company_name = serializers.SerializerMethodField()
    has_party_organization = serializers.BooleanField(source="has_party_org", read_only=True)
    party_organization = serializers.SerializerMethodField()
    party_organization_name = serializers.SerializerMethodField()
    owners_committee_required = serializers.BooleanField(source="committee_required", read_only=True)
    owners_committee_required_override = serializers.SerializerMethodField()
    owners_committee = serializers.IntegerField(
        source="current_committee_id", read_only=True, allow_null=True, help_text="现任业委会 id, 无则为 null"
    )
    owners_committee_term_end = serializers.DateField(
        source="current_committee_term_end", read_only=True, allow_null=True
    )
    is_red_property = serializers.BooleanField(source="red_property", read_only=True)
    red_property_since = serializers.SerializerMethodField()
    assessment_year = serializers.IntegerField(read_only=True, allow_null=True)
    assessment_total = serializers.DecimalField(
        **TOTAL_POINTS, read_only=True, allow_null=True, help_text="该年度考评总分 (默认最近一次)"
    )
    is_demonstration = serializers.BooleanField(read_only=True, help_text="总分达到街道当年的示范小区分数线")
    notes = serializers.SerializerMethodField()

    @extend_schema_field(serializers.IntegerField(allow_null=True))
    def get_property_company(self, estate: Estate) -> int | None:
        governance = _governance(estate)
        return governance.property_company_id if governance else None

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_property_company_name(self, estate: Estate) -> str | None:
        governance = _governance(estate)
        return governance.property_company.name if governance and governance.property_company else None

    @extend_schema_field(serializers.IntegerField(allow_null=True))
    def get_party_organization(self, estate: Estate) -> int | None:
        governance = _governance(estate)
        return governance.party_organization_id if governance else None

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_party_organization_name(self, estate: Estate) -> str | None:
        governance = _governance(estate)
        return governance.party_organization.name if governance and governance.party_organization else None

    @extend_schema_field(serializers.BooleanField(allow_null=True))
    def get_owners_committee_required_override(self, estate: Estate) -> bool | None:
        governance = _governance(estate)
        return governance.owners_committee_required_override if governance else None

    @extend_schema_field(serializers.DateField(allow_null=True))
    def get_red_property_since(self, estate: Estate) -> date | None:
        governance = _governance(estate)
        return governance.red_property_since if governance else None

    @extend_schema_field(serializers.CharField())
    def get_notes(self, estate: Estate) -> str:
        governance = _governance(estate)
        return governance.notes if governance else ""


class GovernanceUpdateSerializer(serializers.Serializer):
    property_company = serializers.PrimaryKeyRelatedField(
        queryset=PropertyCompany.objects.all(), allow_null=True, required=False, help_text="null: 无物业小区"
    )
    has_property_service = serializers.BooleanField(
        required=False, help_text="only with property_company null: true if served by a company not on the register"
    )
    party_organization = serializers.PrimaryKeyRelatedField(
        queryset=PartyOrganization.objects.all(), allow_null=True, required=False, help_text="小区党组织"
    )
    owners_committee_required_override = serializers.BooleanField(
        allow_null=True, required=False, help_text="null: by households"
    )
    is_red_property = serializers.BooleanField(required=False, help_text="street admins only")
    red_property_since = serializers.DateField(allow_null=True, required=False, help_text="street admins only")
    notes = serializers.CharField(allow_blank=True, max_length=2000, required=False)


# Committees -------------------------------------------------------------------------------------


def _member_serializer(role_choices: Any, ref_name: str) -> type[serializers.Serializer]:
    class MemberSerializer(serializers.Serializer):
        id = serializers.IntegerField(read_only=True)
        name = serializers.CharField(max_length=50)
        role = serializers.ChoiceField(choices=role_choices, required=False, default=role_choices[-1][0])
        phone = PhoneField()
        is_party_member = serializers.BooleanField(required=False, default=False)
        also_in_party_organisation = serializers.BooleanField(
            required=False, default=False, help_text="交叉任职: 同时是党组织成员"
        )

        class Meta:
            pass

    MemberSerializer.Meta.ref_name = ref_name
    MemberSerializer.__name__ = f"{ref_name}Serializer"
    return MemberSerializer


CommitteeMemberSerializer = _member_serializer(CommitteeRole.choices, "CommitteeMember")
GroupMemberSerializer = _member_serializer(SelfGovernanceMember.Role.choices, "SelfGovernanceMember")


# A term's dates (end after start, no overlap) are the services' check, made after who may act.
class TermSerializer(CreateOnlyMixin, serializers.ModelSerializer):
    is_current = serializers.SerializerMethodField()

    def get_is_current(self, obj: Any) -> bool:
        return obj.is_current(_today(self))


class OwnersCommitteeSerializer(TermSerializer):
    create_only_fields = ("estate",)
    estate = EstateChoiceField()
    estate_name = serializers.CharField(source="estate.name", read_only=True)
    community = serializers.IntegerField(source="estate.community_id", read_only=True)
    members = CommitteeMemberSerializer(many=True, required=False)

    class Meta:
        model = OwnersCommittee
        fields = [
            "id",
            "estate",
            "estate_name",
            "community",
            "term_start",
            "term_end",
            "is_current",
            "notes",
            "members",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["id", "created_at", "updated_at"]


class ResidentsCommitteeSerializer(TermSerializer):
    create_only_fields = ("community",)
    community_name = serializers.CharField(source="community.name", read_only=True)
    members = CommitteeMemberSerializer(many=True, required=False)

    class Meta:
        model = ResidentsCommittee
        fields = [
            "id",
            "community",
            "community_name",
            "term_start",
            "term_end",
            "is_current",
            "notes",
            "members",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["id", "created_at", "updated_at"]


# 三方联动 ----------------------------------------------------------------------------------------


class ParticipantSerializer(serializers.ModelSerializer):
    class Meta:
        model = JointMeetingParticipant
        fields = ["side", "name", "title"]


class FollowUpSerializer(CreateOnlyMixin, serializers.ModelSerializer):
    create_only_fields = ("meeting",)
    meeting = serializers.PrimaryKeyRelatedField(queryset=JointMeeting.objects.all())
    estate = serializers.IntegerField(source="meeting.estate_id", read_only=True)
    estate_name = serializers.CharField(source="meeting.estate.name", read_only=True)
    meeting_held_on = serializers.DateField(source="meeting.held_on", read_only=True)
    is_overdue = serializers.SerializerMethodField(help_text="未完成且已过完成期限 (按北京时间)")

    class Meta:
        model = FollowUpItem
        fields = [
            "id",
            "meeting",
            "meeting_held_on",
            "estate",
            "estate_name",
            "content",
            "owner",
            "due_date",
            "done_on",
            "is_overdue",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["id", "created_at", "updated_at"]

    def get_is_overdue(self, item: FollowUpItem) -> bool:
        return item.is_overdue(_today(self))


class NewFollowUpSerializer(serializers.ModelSerializer):
    """A follow-up item given with a new meeting."""

    class Meta:
        model = FollowUpItem
        fields = ["content", "owner", "due_date"]


class MeetingFollowUpSerializer(FollowUpSerializer):
    class Meta(FollowUpSerializer.Meta):
        fields = ["id", "content", "owner", "due_date", "done_on", "is_overdue"]


class JointMeetingSerializer(CreateOnlyMixin, serializers.ModelSerializer):
    create_only_fields = ("estate",)
    estate = EstateChoiceField()
    estate_name = serializers.CharField(source="estate.name", read_only=True)
    community = serializers.IntegerField(source="estate.community_id", read_only=True)
    participants = ParticipantSerializer(many=True, help_text="owners 业主/业委会, property 物业公司, party 社区党组织")
    follow_ups: serializers.Field = NewFollowUpSerializer(
        many=True, required=False, write_only=True, help_text="only when creating"
    )
    counts = serializers.BooleanField(read_only=True, help_text="三方均有人参加才计为一次三方联动")
    sides_present = serializers.SerializerMethodField()

    class Meta:
        model = JointMeeting
        fields = [
            "id",
            "estate",
            "estate_name",
            "community",
            "held_on",
            "place",
            "topics",
            "decisions",
            "participants",
            "sides_present",
            "counts",
            "follow_ups",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["id", "created_at", "updated_at"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance is not None:
            self.fields["participants"].required = False

    @extend_schema_field(serializers.ListField(child=serializers.ChoiceField(JointMeetingParticipant.Side.choices)))
    def get_sides_present(self, meeting: JointMeeting) -> list[str]:
        present = {p.side for p in meeting.participants.all()}
        return [side for side in JointMeetingParticipant.Side.values if side in present]


class JointMeetingOutputSerializer(JointMeetingSerializer):
    """How a meeting is answered: its follow-up items with their state."""

    follow_ups = MeetingFollowUpSerializer(many=True, read_only=True)


class FollowUpUpdateSerializer(serializers.ModelSerializer):
    class Meta:
        model = FollowUpItem
        fields = ["content", "owner", "due_date", "done_on"]


# Assessment -------------------------------------------------------------------------------------


class AssessmentStandardSerializer(CreateOnlyMixin, serializers.ModelSerializer):
    create_only_fields = ("street", "year")
    street_name = serializers.CharField(source="street.name", read_only=True)

    class Meta:
        model = AssessmentStandard
        fields = ["id", "street", "street_name", "year", "demonstration_threshold", "created_at", "updated_at"]
        read_only_fields = ["id", "created_at", "updated_at"]
        extra_kwargs = {"demonstration_threshold": {"min_value": Decimal("0")}}
        # A second line for the same street and year is answered by the service, with the field named.
        validators: list = []


class AssessmentItemSerializer(CreateOnlyMixin, serializers.ModelSerializer):
    create_only_fields = ("street", "year")

    class Meta:
        model = AssessmentItem
        fields = [
            "id",
            "street",
            "year",
            "category",
            "name",
            "max_points",
            "guidance",
            "position",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["id", "created_at", "updated_at"]
        extra_kwargs = {"max_points": {"min_value": Decimal("0.5")}}
        # Duplicates are answered by the service, with the field named.
        validators: list = []


class ScoreSerializer(serializers.Serializer):
    item = serializers.PrimaryKeyRelatedField(queryset=AssessmentItem.objects.all())
    category = serializers.CharField(source="item.category", read_only=True)
    item_name = serializers.CharField(source="item.name", read_only=True)
    max_points = serializers.DecimalField(source="item.max_points", **POINTS, read_only=True)
    points = serializers.DecimalField(**POINTS, allow_null=True, min_value=Decimal("0"), help_text="null: 删除该项得分")
    note = serializers.CharField(max_length=200, allow_blank=True, required=False)


class EstateAssessmentSerializer(CreateOnlyMixin, serializers.ModelSerializer):
    create_only_fields = ("estate", "year")
    estate = EstateChoiceField()
    estate_name = serializers.CharField(source="estate.name", read_only=True)
    community = serializers.IntegerField(source="estate.community_id", read_only=True)
    scores = ScoreSerializer(many=True, required=False, help_text="items not listed keep their scores")
    total = serializers.DecimalField(**TOTAL_POINTS, read_only=True, help_text="各项得分之和")
    max_total = serializers.DecimalField(**TOTAL_POINTS, read_only=True, help_text="当年考评表满分")
    demonstration_threshold = serializers.DecimalField(**TOTAL_POINTS, read_only=True, allow_null=True)
    is_demonstration = serializers.BooleanField(read_only=True)

    class Meta:
        model = EstateAssessment
        fields = [
            "id",
            "estate",
            "estate_name",
            "community",
            "year",
            "notes",
            "scores",
            "total",
            "max_total",
            "demonstration_threshold",
            "is_demonstration",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["id", "created_at", "updated_at"]
        validators: list = []
        extra_kwargs = {"year": {"min_value": 2000, "max_value": 2100}}


# Self-governance --------------------------------------------------------------------------------


class SelfGovernanceGroupSerializer(TermSerializer):
    create_only_fields = ("estate",)
    estate = EstateChoiceField(help_text="a 无物业小区")
    estate_name = serializers.CharField(source="estate.name", read_only=True)
    community = serializers.IntegerField(source="estate.community_id", read_only=True)
    members = GroupMemberSerializer(many=True, required=False)
    meeting_count = serializers.IntegerField(read_only=True, default=0)

    class Meta:
        model = SelfGovernanceGroup
        fields = [
            "id",
            "estate",
            "estate_name",
            "community",
            "name",
            "term_start",
            "term_end",
            "is_current",
            "notes",
            "members",
            "meeting_count",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["id", "created_at", "updated_at"]


class SelfGovernanceMeetingSerializer(CreateOnlyMixin, serializers.ModelSerializer):
    create_only_fields = ("group",)
    group = serializers.PrimaryKeyRelatedField(queryset=SelfGovernanceGroup.objects.all())
    group_name = serializers.CharField(source="group.name", read_only=True)
    estate = serializers.IntegerField(source="group.estate_id", read_only=True)

    class Meta:
        model = SelfGovernanceMeeting
        fields = [
            "id",
            "group",
            "group_name",
            "estate",
            "held_on",
            "topics",
            "minutes",
            "attendee_count",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["id", "created_at", "updated_at"]
        extra_kwargs = {"attendee_count": {"min_value": 0, "max_value": 100_000}}
