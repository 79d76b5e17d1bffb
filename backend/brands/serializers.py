"""Shapes of brands, plans, deadlines and honours. Rules live in services; ids outside scope read as absent."""

from __future__ import annotations

from typing import Any

from django.db.models import Q
from django.utils import timezone
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from backend.communities.models import Community, PartyOrganization, Street
from backend.core.fields import ContentReviewField, UploadField, UploadListField, UploadSerializer
from backend.core.models import Upload
from backend.core.selectors import uploads_owned_by

from .models import Brand, BrandDeadline, BrandPlan, Honor
from .services import is_overdue


class CurrentOrOwnUploadField(UploadField):
    """An upload the caller owns, or the one already in place: re-sending an unchanged logo that a
    colleague uploaded must not fail."""

    def get_queryset(self):
        own = super().get_queryset()
        instance = getattr(self.parent, "instance", None)
        current_id = getattr(instance, f"{self.source}_id", None) if isinstance(instance, Brand) else None
        if current_id is None:
            return own
        return Upload.objects.filter(Q(pk__in=own.values("pk")) | Q(pk=current_id))


class CurrentOrOwnUploadListField(UploadListField):
    """Upload ids the caller owns, or already attached to the plan being edited; shown in their order."""

    def get_attribute(self, instance: BrandPlan) -> list[Upload]:
        return instance.ordered_attachments

    def to_internal_value(self, data: Any) -> list[Upload]:
        ids = list(dict.fromkeys(serializers.ListField.to_internal_value(self, data)))
        instance = getattr(self.parent, "instance", None)
        request = self.context.get("request")
        owned = uploads_owned_by(getattr(request, "user", None), ids)
        found = {upload.pk: upload for upload in owned}
        if isinstance(instance, BrandPlan):
            found.update({upload.pk: upload for upload in instance.attachments.filter(pk__in=ids)})
        for pk in ids:
            if pk not in found:
                self.fail("does_not_exist", pk_value=pk)
            if self.kind and found[pk].kind != self.kind:
                self.fail("wrong_kind", pk_value=pk, kind=str(Upload.Kind(self.kind).label))
        return [found[pk] for pk in ids]


class WorkingMethodSerializer(serializers.Serializer):
    """工作法: its name, the problem it solves and its steps."""

    name = serializers.CharField(source="method_name", max_length=100, required=False, allow_blank=True)
    problem = serializers.CharField(source="method_problem", max_length=2000, required=False, allow_blank=True)
    steps = serializers.ListField(
        source="method_steps",
        child=serializers.CharField(max_length=300),
        max_length=20,
        required=False,
    )


class BrandSerializer(serializers.ModelSerializer):
    community = serializers.PrimaryKeyRelatedField(queryset=Community.objects.all())
    community_name = serializers.CharField(source="community.name", read_only=True)
    street = serializers.IntegerField(source="community.street_id", read_only=True)
    logo = CurrentOrOwnUploadField(kind=Upload.Kind.IMAGE, required=False, allow_null=True)
    logo_image = UploadSerializer(source="logo", read_only=True, allow_null=True)
    working_method = WorkingMethodSerializer(source="*", required=False)
    content_review = ContentReviewField()

    class Meta:
        model = Brand
        fields = [
            "id",
            "community",
            "community_name",
            "street",
            "name",
            "slogan",
            "description",
            "logo",
            "logo_image",
            "working_method",
            "status",
            "published_at",
            "retired_at",
            "created_at",
            "updated_at",
            "content_review",
        ]
        read_only_fields = ["status", "published_at", "retired_at", "created_at", "updated_at"]

    def get_fields(self):
        fields = super().get_fields()
        if isinstance(self.instance, Brand):
            # A brand stays with its community; a new community starts its own brand.
            fields["community"].read_only = True
        return fields


class PlanSerializer(serializers.ModelSerializer):
    attachments = CurrentOrOwnUploadListField(required=False, max_length=20, help_text="上传文件 id: PDF、Word 或图片")
    attachment_files = UploadSerializer(source="ordered_attachments", many=True, read_only=True)
    due_date = serializers.DateField(read_only=True, allow_null=True, help_text="来自街道为该社区设置的截止日期")
    is_overdue = serializers.SerializerMethodField()
    author_name = serializers.SerializerMethodField()
    reviewed_by_name = serializers.SerializerMethodField()

    class Meta:
        model = BrandPlan
        fields = [
            "id",
            "brand",
            "version",
            "year",
            "status",
            "content",
            "attachments",
            "attachment_files",
            "due_date",
            "is_overdue",
            "author",
            "author_name",
            "submitted_at",
            "submitted_by",
            "reviewed_at",
            "reviewed_by",
            "reviewed_by_name",
            "review_comments",
            "created_at",
            "updated_at",
        ]
        read_only_fields = [
            "brand",
            "version",
            "year",
            "status",
            "author",
            "submitted_at",
            "submitted_by",
            "reviewed_at",
            "reviewed_by",
            "review_comments",
            "created_at",
            "updated_at",
        ]

    @extend_schema_field(serializers.BooleanField())
    def get_is_overdue(self, plan: BrandPlan) -> bool:
        return is_overdue(plan=plan, due_date=getattr(plan, "due_date", None), today=timezone.localdate())

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_author_name(self, plan: BrandPlan) -> str | None:
        return str(plan.author) if plan.author_id else None

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_reviewed_by_name(self, plan: BrandPlan) -> str | None:
        return str(plan.reviewed_by) if plan.reviewed_by_id else None


class ReviewSerializer(serializers.Serializer):
    comments = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")


class ReturnSerializer(serializers.Serializer):
    comments = serializers.CharField(max_length=2000, help_text="修改意见")


class DeadlineSerializer(serializers.ModelSerializer):
    street = serializers.PrimaryKeyRelatedField(queryset=Street.objects.all())
    street_name = serializers.CharField(source="street.name", read_only=True)
    communities = serializers.PrimaryKeyRelatedField(
        queryset=Community.objects.all(), many=True, allow_empty=False, help_text="社区 id"
    )
    year = serializers.SerializerMethodField()

    class Meta:
        model = BrandDeadline
        fields = ["id", "street", "street_name", "title", "due_date", "year", "communities", "created_at", "updated_at"]
        read_only_fields = ["created_at", "updated_at"]

    def get_fields(self):
        fields = super().get_fields()
        if isinstance(self.instance, BrandDeadline):
            fields["street"].read_only = True
        return fields

    @extend_schema_field(serializers.IntegerField())
    def get_year(self, deadline: BrandDeadline) -> int:
        return deadline.due_date.year


# Exactly one recipient (a brand or an organisation) is the services' check, made after who may act.
class HonorSerializer(serializers.ModelSerializer):
    brand = serializers.PrimaryKeyRelatedField(queryset=Brand.objects.all(), required=False, allow_null=True)
    organization = serializers.PrimaryKeyRelatedField(
        queryset=PartyOrganization.objects.all(), required=False, allow_null=True
    )
    brand_name = serializers.SerializerMethodField()
    organization_name = serializers.SerializerMethodField()

    class Meta:
        model = Honor
        fields = [
            "id",
            "brand",
            "brand_name",
            "organization",
            "organization_name",
            "street",
            "level",
            "title",
            "issuer",
            "awarded_on",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["street", "created_at", "updated_at"]

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_brand_name(self, honor: Honor) -> str | None:
        return honor.brand.name if honor.brand_id else None

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_organization_name(self, honor: Honor) -> str | None:
        return honor.organization.name if honor.organization_id else None
