from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from backend.communities.models import Community, Grid, PartyOrganization, Street
from backend.core.fields import BoundedDateTimeField

from . import services
from .models import MOBILE_RE, Role, RoleGrant, User, mask_phone
from .scoping import get_scope, prime_scope
from .selectors import active_grants


class RoleSerializer(serializers.ModelSerializer):
    role_display = serializers.CharField(source="get_role_display", read_only=True)

    class Meta:
        model = RoleGrant
        fields = ["id", "role", "role_display", "street", "community", "grid", "organization"]
        read_only_fields = fields


class MeSerializer(serializers.ModelSerializer):
    """The signed-in user's own profile (their phone unmasked: it is theirs)."""

    roles = serializers.SerializerMethodField()
    community = serializers.PrimaryKeyRelatedField(queryset=Community.objects.all(), allow_null=True, required=False)
    has_wechat = serializers.SerializerMethodField()
    is_staff = serializers.SerializerMethodField()

    class Meta:
        model = User
        fields = ["id", "phone", "real_name", "nickname", "community", "roles", "has_wechat", "is_staff", "date_joined"]
        read_only_fields = ["id", "phone", "roles", "has_wechat", "is_staff", "date_joined"]

    @extend_schema_field(RoleSerializer(many=True))
    def get_roles(self, user: User):
        if not hasattr(user, "role_grants"):
            return []
        every = list(user.role_grants.all())
        # The same rows decide is_staff: read once for both.
        prime_scope(user, every)
        return RoleSerializer([g for g in every if g.revoked_at is None], many=True).data

    def get_has_wechat(self, user: User) -> bool:
        return bool(user.wechat_openid)

    def get_is_staff(self, user: User) -> bool:
        return get_scope(user).is_staff

    def update(self, instance: User, validated_data: dict) -> User:
        return services.update_profile(user=instance, **validated_data)


# DRF's own formatting of a time (the current time zone, ISO 8601), for the payloads written directly.
_TIME = serializers.DateTimeField()


def me_payload(user: User, grants: list[RoleGrant] | None = None) -> dict:
    """`MeSerializer(user).data`, written directly: what every opening of the mini-program asks.

    A ModelSerializer builds its fields from the model on every instance, and the roles through a
    second one per grant; here the grants are read once (for `roles` and for the scope behind
    `is_staff`, as the serializer does) and the rest are attributes. MeSerializer stays the schema,
    the shape of the PATCH answer and the reference: tests/accounts/test_me_payload.py holds the two
    to the same output. Only live grants are read: the roles show no other, and the scope counts
    no other. `grants`: the live grants, when the caller has read them with the account
    (selectors.account_with_grants).
    """
    if grants is None:
        grants = active_grants(user)
    prime_scope(user, grants)
    return {
        "id": user.pk,
        "phone": user.phone,
        "real_name": user.real_name,
        "nickname": user.nickname,
        "community": user.community_id,
        "roles": [
            {
                "id": grant.pk,
                "role": grant.role,
                "role_display": str(grant.get_role_display()),
                "street": grant.street_id,
                "community": grant.community_id,
                "grid": grant.grid_id,
                "organization": grant.organization_id,
            }
            for grant in grants
        ],
        "has_wechat": bool(user.wechat_openid),
        "is_staff": get_scope(user).is_staff,
        "date_joined": _TIME.to_representation(user.date_joined),
    }


class PublicUserSerializer(serializers.ModelSerializer):
    """Someone else, as staff see them in lists: phone masked."""

    phone = serializers.SerializerMethodField()

    class Meta:
        model = User
        fields = ["id", "real_name", "phone"]

    def get_phone(self, user: User) -> str | None:
        return mask_phone(user.phone)


class RoleGrantSerializer(serializers.ModelSerializer):
    user = PublicUserSerializer(read_only=True)
    role_display = serializers.CharField(source="get_role_display", read_only=True)
    granted_by = serializers.PrimaryKeyRelatedField[User](read_only=True, allow_null=True)

    class Meta:
        model = RoleGrant
        fields = [
            "id",
            "user",
            "role",
            "role_display",
            "street",
            "community",
            "grid",
            "organization",
            "granted_by",
            "created_at",
        ]
        read_only_fields = fields


class RoleGrantCreateSerializer(serializers.Serializer):
    phone = serializers.RegexField(MOBILE_RE, error_messages={"invalid": _("请输入有效的中国大陆手机号")})
    role = serializers.ChoiceField(choices=Role.choices)
    street = serializers.PrimaryKeyRelatedField(queryset=Street.objects.none(), required=False, allow_null=True)
    community = serializers.PrimaryKeyRelatedField(queryset=Community.objects.none(), required=False, allow_null=True)
    grid = serializers.PrimaryKeyRelatedField(queryset=Grid.objects.none(), required=False, allow_null=True)
    organization = serializers.PrimaryKeyRelatedField(
        queryset=PartyOrganization.objects.none(), required=False, allow_null=True
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        from .scoping import staff_organizations, visible_communities

        request = self.context.get("request")
        if request is None:  # schema generation: no caller, no choices
            return
        # Anonymous only when the schema is generated: an empty scope, no choices.
        user = request.user if isinstance(request.user, User) else None
        scope = get_scope(user)
        # A place outside the granter's scope is "not found", exactly as a wrong id would be.
        self._choose(
            "street", Street.objects.all() if scope.is_superuser else Street.objects.filter(id__in=scope.street_ids)
        )
        self._choose("community", visible_communities(user))
        self._choose("grid", Grid.objects.filter(community__in=visible_communities(user)))
        self._choose("organization", staff_organizations(user))

    def _choose(self, name: str, queryset: QuerySet[Any]) -> None:
        field = self.fields[name]
        if isinstance(field, serializers.RelatedField):
            field.queryset = queryset  # type: ignore[arg-type]  # the stubs read the attribute as a manager


class AccountDeletionSerializer(serializers.Serializer):
    confirm = serializers.BooleanField(help_text="must be true: the person confirmed, after reading what deletion does")
    current_password = serializers.CharField(
        required=False,
        allow_blank=True,
        default="",
        max_length=128,
        trim_whitespace=False,
        write_only=True,
        help_text="accounts with a password: the password",
    )
    wechat_code = serializers.CharField(
        required=False,
        allow_blank=True,
        default="",
        max_length=128,
        write_only=True,
        help_text="WeChat accounts: a fresh code from wx.login(), which must belong to the account's WeChat user",
    )

    def validate_confirm(self, value: bool) -> bool:
        if value is not True:
            raise serializers.ValidationError(_("请确认注销账号"))
        return value


class PersonalDataExportSerializer(serializers.Serializer):
    format = serializers.CharField(help_text="personal-data/1")
    exported_at = BoundedDateTimeField()
    user = serializers.IntegerField(help_text="the account's id")
    sections = serializers.DictField(
        child=serializers.JSONField(),
        help_text=(
            "everything held about the caller, unmasked, by subject: account, roles, uploads, party_member "
            "(ID number decrypted), member_registrations, unit_registrations, consents, posts, points, demands, "
            "resources, enrollments, check_ins (distance and whether inside, never a position), leave_requests, "
            "volunteer (ID number decrypted), service_records (with corrections), certificates, appeals (with "
            "steps), notices, subscribe_consents"
        ),
    )
