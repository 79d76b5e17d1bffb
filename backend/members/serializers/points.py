"""The points ledger, its rules and the ranking."""

from __future__ import annotations

from typing import Any, cast

from rest_framework import serializers

from backend.communities.models import Community

from ..models import PartyMember, PointsEntry, PointsRule


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


# Whose points a correction is for: read first, so that who may correct them is settled before the
# rest of the body is looked at. (A comment, not a docstring: the schema would show it as the
# correction body's description.)
class CorrectionTargetSerializer(serializers.Serializer):
    member = serializers.PrimaryKeyRelatedField(queryset=PartyMember.objects.none())

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        request = self.context.get("request")
        if request is not None:
            from ..selectors import members_for

            # A member outside the caller's scope is "not found", as a wrong id would be.
            member = cast("serializers.PrimaryKeyRelatedField[PartyMember]", self.fields["member"])
            # The DRF stubs declare `queryset` with Manager in its union, which mypy reads as a descriptor.
            member.queryset = members_for(request.user)  # type: ignore[arg-type]


class CorrectionSerializer(CorrectionTargetSerializer):
    points = serializers.IntegerField(min_value=-10_000, max_value=10_000)
    reason = serializers.CharField(max_length=500)
    year = serializers.IntegerField(min_value=2000, max_value=2100, required=False)
