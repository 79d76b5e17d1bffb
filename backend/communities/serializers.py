from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from rest_framework import serializers

from backend.core.serializers import FieldsBuiltOnce

from .models import Community, Estate, Grid, PartyOrganization, Place, Street


class StreetSerializer(serializers.ModelSerializer):
    class Meta:
        model = Street
        fields = ["id", "name", "city"]


class CommunitySerializer(serializers.ModelSerializer):
    street_name = serializers.CharField(source="street.name", read_only=True)

    class Meta:
        model = Community
        fields = ["id", "name", "street", "street_name", "address"]


def community_rows(communities: Iterable[Community]) -> list[dict[str, Any]]:
    """What CommunitySerializer writes for a list, written directly: the anonymous list of communities
    is the mini-program's first request, and DRF's field machinery was a fifth of its CPU. The
    serializer stays the schema; tests/communities/test_public_lists.py holds the two to the same output."""
    return [
        {"id": c.pk, "name": c.name, "street": c.street_id, "street_name": c.street.name, "address": c.address}
        for c in communities
    ]


class GridSerializer(serializers.ModelSerializer):
    class Meta:
        model = Grid
        fields = ["id", "name", "community"]


class OrganizationSerializer(serializers.ModelSerializer):
    class Meta:
        model = PartyOrganization
        fields = ["id", "name", "kind", "is_unit", "parent", "street", "community", "employer"]


# Its fields are built once per process (FieldsBuiltOnce): creating an estate is a staff member's
# busiest write. (The docstring below is the schema's description.)
class EstateSerializer(FieldsBuiltOnce, serializers.ModelSerializer):
    """Read and write shape. `community` and `grid` choices are limited to the caller's scope by the view."""

    community_name = serializers.CharField(source="community.name", read_only=True)

    class Meta:
        model = Estate
        fields = [
            "id",
            "name",
            "community",
            "community_name",
            "grid",
            "address",
            "households",
            "has_property_service",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["id", "community_name", "created_at", "updated_at"]
        extra_kwargs = {"households": {"min_value": 0, "max_value": 1_000_000}}

    def validate(self, attrs):
        community = attrs.get("community", getattr(self.instance, "community", None))
        grid = attrs.get("grid", getattr(self.instance, "grid", None) if "community" not in attrs else None)
        if "grid" in attrs:
            grid = attrs["grid"]
        if grid is not None and community is not None and grid.community_id != community.pk:
            raise serializers.ValidationError({"grid": ["网格不属于该社区"]})
        return attrs


class PlaceSerializer(serializers.ModelSerializer):
    kind_label = serializers.CharField(source="get_kind_display", read_only=True)

    class Meta:
        model = Place
        fields = ["id", "community", "name", "kind", "kind_label", "address", "latitude", "longitude", "radius_m"]
        read_only_fields = fields
