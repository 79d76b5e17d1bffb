"""The map: streets, communities, grids, estates, and the party organisation tree."""

from __future__ import annotations

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q

# A geofence (an activity's or a place's): below ten metres a phone's fix cannot tell inside from
# outside; above five kilometres it is no fence.
RADIUS_MIN_M = 10
RADIUS_MAX_M = 5000


def latitude_field(label: str) -> models.DecimalField:
    """A GCJ-02 latitude to six places (about 0.1 m), as places and activities store it."""
    return models.DecimalField(
        label, max_digits=9, decimal_places=6, validators=[MinValueValidator(-90), MaxValueValidator(90)]
    )


def longitude_field(label: str) -> models.DecimalField:
    return models.DecimalField(
        label, max_digits=9, decimal_places=6, validators=[MinValueValidator(-180), MaxValueValidator(180)]
    )


def radius_field(label: str) -> models.PositiveIntegerField:
    """A geofence's radius in metres."""
    return models.PositiveIntegerField(
        label, default=200, validators=[MinValueValidator(RADIUS_MIN_M), MaxValueValidator(RADIUS_MAX_M)]
    )


class Street(models.Model):
    name = models.CharField("名称", max_length=100)
    city = models.CharField("所属市区", max_length=100, blank=True, help_text="如 岳阳市岳阳楼区")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "街道"
        verbose_name_plural = "街道"
        ordering = ["id"]
        constraints = [models.UniqueConstraint(fields=["city", "name"], name="street_unique_name")]

    def __str__(self) -> str:
        return f"{self.city}{self.name}" if self.city else self.name


class Community(models.Model):
    street = models.ForeignKey(Street, on_delete=models.PROTECT, related_name="communities", verbose_name="街道")
    name = models.CharField("名称", max_length=100)
    address = models.CharField("地址", max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "社区"
        verbose_name_plural = "社区"
        ordering = ["id"]
        constraints = [models.UniqueConstraint(fields=["street", "name"], name="community_unique_name")]

    def __str__(self) -> str:
        return self.name


class Grid(models.Model):
    community = models.ForeignKey(Community, on_delete=models.PROTECT, related_name="grids", verbose_name="社区")
    name = models.CharField("名称", max_length=100)

    class Meta:
        verbose_name = "网格"
        verbose_name_plural = "网格"
        ordering = ["id"]
        constraints = [models.UniqueConstraint(fields=["community", "name"], name="grid_unique_name")]

    def __str__(self) -> str:
        return f"{self.community.name}·{self.name}"


class Estate(models.Model):
    community = models.ForeignKey(Community, on_delete=models.PROTECT, related_name="estates", verbose_name="社区")
    grid = models.ForeignKey(
        Grid, on_delete=models.SET_NULL, null=True, blank=True, related_name="estates", verbose_name="网格"
    )
    name = models.CharField("名称", max_length=100)
    address = models.CharField("地址", max_length=200, blank=True)
    households = models.PositiveIntegerField("户数", default=0, validators=[MinValueValidator(0)])
    has_property_service = models.BooleanField("有物业服务", default=True, help_text="否: 无物业小区")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "小区"
        verbose_name_plural = "小区"
        ordering = ["id"]
        constraints = [models.UniqueConstraint(fields=["community", "name"], name="estate_unique_name")]

    def __str__(self) -> str:
        return self.name


class PartyOrganization(models.Model):
    class Kind(models.TextChoices):
        WORKING_COMMITTEE = "working_committee", "党工委"
        COMMITTEE = "committee", "党委"
        GENERAL_BRANCH = "general_branch", "党总支"
        BRANCH = "branch", "党支部"
        GROUP = "group", "党小组"

    name = models.CharField("名称", max_length=150)
    kind = models.CharField("类型", max_length=32, choices=Kind.choices)
    parent = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="children", verbose_name="上级组织"
    )
    street = models.ForeignKey(
        Street, on_delete=models.PROTECT, null=True, blank=True, related_name="organizations", verbose_name="街道"
    )
    community = models.ForeignKey(
        Community,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="organizations",
        verbose_name="社区",
    )
    is_unit = models.BooleanField("机关/企事业单位党组织", default=False, help_text="在职党员的单位党组织, 与社区共建")
    employer = models.CharField("所在单位", max_length=150, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "党组织"
        verbose_name_plural = "党组织"
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["parent", "name"], name="organization_unique_name_in_parent"),
            # A community organisation belongs to one street: the community's.
            models.CheckConstraint(
                condition=Q(is_unit=True) | Q(street__isnull=False) | Q(community__isnull=False),
                name="organization_tied_to_place_or_unit",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class Place(models.Model):
    """Where a community holds its activities, picked once on a map and then chosen by name.

    Coordinates are GCJ-02, as Chinese maps show them and as the mini-program reports positions.
    An activity held here copies them (and the radius) when it is saved, so check-in reads the
    activity's own row and never joins this table.
    """

    class Kind(models.TextChoices):
        SERVICE_CENTRE = "service_centre", "党群服务中心"
        ESTATE = "estate", "小区"
        SQUARE = "square", "广场"
        OTHER = "other", "其他"

    community = models.ForeignKey(Community, on_delete=models.PROTECT, related_name="places", verbose_name="社区")
    name = models.CharField("名称", max_length=100)
    kind = models.CharField("类型", max_length=16, choices=Kind.choices, default=Kind.SERVICE_CENTRE)
    address = models.CharField("地址", max_length=200, blank=True)
    latitude = latitude_field("纬度")
    longitude = longitude_field("经度")
    radius_m = radius_field("签到范围(米)")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "活动场所"
        verbose_name_plural = "活动场所"
        ordering = ["community_id", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["community", "name"], name="place_unique_name", violation_error_message="该社区已有同名场所"
            )
        ]

    def __str__(self) -> str:
        return self.name
