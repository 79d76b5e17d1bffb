"""Demo brand data from the source: 岳阳楼街道's "1137" goals (一社区一品牌).

岳阳楼社区's long-standing brand "岳阳楼下党旗红", and the street's two deadlines for brand designs
and plans: 岳阳楼、东湖、郭亮、庙前街 before the 七一 ceremony, the other communities by the end of
October. Called by `seed_demo` after the map exists; running it again changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Literal

from django.db import transaction
from django.utils import timezone

from backend.communities.models import Community, Street

from .models import Brand, BrandDeadline, BrandDeadlineCommunity

Status = Literal["created", "updated", "existing"]

CITY, STREET = "岳阳市岳阳楼区", "岳阳楼街道"
FLAGSHIP_COMMUNITY = "岳阳楼社区"
FLAGSHIP = {
    "name": "岳阳楼下党旗红",
    "slogan": "传承与创新相结合, 让党的声音传得更远、更广",
    "description": (
        "岳阳楼街道的老字号党建品牌。围绕其丰富内涵和时代价值继续深入挖掘、开拓创新: 内容上结合新时代党建"
        "工作要求和街道实际, 创新活动形式和内容; 宣传上利用多种媒体渠道扩大品牌影响力; 成绩上对标国家级、"
        "省级、市级、区级“优秀基层党组织”, 争取1-2块有分量的金字招牌。"
    ),
}
# (title, month, day, communities): the four named ones by 七一, "the others" by 31 October.
BEFORE_JULY = ("岳阳楼社区", "东湖社区", "郭亮社区", "庙前街社区")
DEADLINES = (
    ("七一表彰大会前", 7, 1, BEFORE_JULY),
    ("10月底前", 10, 31, None),  # None: every other community of the street
)


@dataclass
class BrandSeedResult:
    brands: list[Status]
    deadlines: list[Status]

    @property
    def changed(self) -> bool:
        return any(status != "existing" for status in [*self.brands, *self.deadlines])


def _seed_flagship(street: Street) -> Status | None:
    community = Community.objects.filter(street=street, name=FLAGSHIP_COMMUNITY).first()
    if community is None:
        return None
    brand = Brand.objects.filter(community=community, name=FLAGSHIP["name"]).first()
    if brand is None:
        # Published unless the community has since put another brand in its place.
        has_current = Brand.objects.filter(community=community, status=Brand.Status.ACTIVE).exists()
        Brand.objects.create(
            community=community,
            status=Brand.Status.DRAFT if has_current else Brand.Status.ACTIVE,
            published_at=None if has_current else timezone.now(),
            **FLAGSHIP,
        )
        return "created"
    changed = [name for name, value in FLAGSHIP.items() if getattr(brand, name) != value]
    if not changed:
        return "existing"
    for name in changed:
        setattr(brand, name, FLAGSHIP[name])
    brand.save(update_fields=[*changed, "updated_at"])
    return "updated"


def _seed_deadline(street: Street, title: str, due_date: date, names: tuple[str, ...] | None) -> Status:
    communities = Community.objects.filter(street=street)
    wanted = communities.filter(name__in=names) if names else communities.exclude(name__in=BEFORE_JULY)
    deadline = BrandDeadline.objects.filter(street=street, title=title, due_date__year=due_date.year).first()
    status: Status = "existing"
    if deadline is None:
        deadline = BrandDeadline.objects.create(street=street, title=title, due_date=due_date)
        status = "created"
    elif deadline.due_date != due_date:
        deadline.due_date = due_date
        deadline.save(update_fields=["due_date", "updated_at"])
        deadline.entries.update(year=due_date.year)
        status = "updated"
    # A community someone has already put under another deadline this year keeps it.
    taken = set(
        BrandDeadlineCommunity.objects.filter(year=due_date.year)
        .exclude(deadline=deadline)
        .values_list("community_id", flat=True)
    )
    present = set(deadline.entries.values_list("community_id", flat=True))
    missing = [c for c in wanted if c.pk not in present and c.pk not in taken]
    if missing:
        BrandDeadlineCommunity.objects.bulk_create(
            [BrandDeadlineCommunity(deadline=deadline, community=c, year=due_date.year) for c in missing]
        )
        status = "updated" if status == "existing" else status
    return status


@transaction.atomic
def seed_brand_demo(*, year: int | None = None) -> BrandSeedResult:
    """岳阳楼社区's brand and the street's deadlines for `year` (this year in Shanghai by default)."""
    year = year or timezone.localdate().year
    result = BrandSeedResult(brands=[], deadlines=[])
    street = Street.objects.filter(city=CITY, name=STREET).first()
    if street is None:
        return result
    flagship = _seed_flagship(street)
    if flagship is not None:
        result.brands.append(flagship)
    for title, month, day, names in DEADLINES:
        result.deadlines.append(_seed_deadline(street, title, date(year, month, day), names))
    return result
