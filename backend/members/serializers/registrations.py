"""双报到 of members and units, their decisions, and the privacy consents they rest on."""

from __future__ import annotations

from typing import Any

from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_serializer
from rest_framework import serializers

from backend.accounts.models import mask_phone
from backend.communities.models import Community, Grid, PartyOrganization
from backend.core.fields import BoundedDateTimeField

from ..models import (
    ConsentWithdrawal,
    MemberRegistration,
    PartyMember,
    PrivacyConsent,
    RegistrationStep,
    UnitRegistration,
)
from .fields import ConsentMixin, MaskedPhoneField, phone_field


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
    # Checked by the service alone: it says what is wrong with a malformed number, and counts each
    # well-formed one tried towards the daily bound.
    id_number = serializers.CharField(max_length=32, required=False, allow_blank=True, write_only=True)
    address = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    note = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")

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
    given_at = BoundedDateTimeField()
    withdrawn_at = BoundedDateTimeField(allow_null=True, help_text="null: standing, or superseded by a newer one")


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
