"""The demo data: 岳阳楼社区's "岳阳楼下党旗红" and the street's two plan deadlines, idempotent."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from backend.brands.demo import seed_brand_demo
from backend.brands.models import Brand, BrandDeadline, BrandDeadlineCommunity
from backend.communities.models import Community
from backend.demo.services import seed_demo

pytestmark = pytest.mark.django_db


def snapshot() -> dict[str, list]:
    return {
        model.__name__: list(model.objects.order_by("pk").values())
        for model in (Brand, BrandDeadline, BrandDeadlineCommunity)
    }


def test_seed_demo_adds_the_brand_and_the_two_deadlines():
    seed_demo()
    brand = Brand.objects.get(name="岳阳楼下党旗红")
    assert (brand.community.name, brand.community.street.name, brand.status) == ("岳阳楼社区", "岳阳楼街道", "active")
    year = timezone.localdate().year
    july, october = BrandDeadline.objects.filter(street__name="岳阳楼街道").order_by("due_date")
    assert (july.due_date.month, july.due_date.day, october.due_date.month, october.due_date.day) == (7, 1, 10, 31)
    assert july.due_date.year == october.due_date.year == year
    assert set(july.communities.values_list("name", flat=True)) == {"岳阳楼社区", "东湖社区", "郭亮社区", "庙前街社区"}
    street_communities = set(Community.objects.filter(street__name="岳阳楼街道").values_list("name", flat=True))
    assert set(october.communities.values_list("name", flat=True)) == street_communities - {
        "岳阳楼社区",
        "东湖社区",
        "郭亮社区",
        "庙前街社区",
    }


def test_second_run_changes_nothing():
    seed_demo()
    before = snapshot()
    assert not seed_brand_demo().changed
    assert not seed_demo().changed
    assert snapshot() == before


def test_rerun_restores_what_was_edited_and_keeps_what_the_street_decided():
    seed_demo()
    year = BrandDeadline.objects.first().due_date.year
    Brand.objects.filter(name="岳阳楼下党旗红").update(slogan="改过的口号")
    donghu = Community.objects.get(name="东湖社区", street__name="岳阳楼街道")
    BrandDeadlineCommunity.objects.filter(community=donghu).delete()
    # The street put 九华山 under a deadline of its own: the demo leaves it there.
    jiuhuashan = Community.objects.get(name="九华山社区", street__name="岳阳楼街道")
    BrandDeadlineCommunity.objects.filter(community=jiuhuashan).delete()
    own = BrandDeadline.objects.create(street=jiuhuashan.street, title="提前", due_date=dt.date(year, 9, 1))
    BrandDeadlineCommunity.objects.create(deadline=own, community=jiuhuashan, year=year)

    result = seed_brand_demo(year=year)
    assert result.changed
    assert Brand.objects.get(name="岳阳楼下党旗红").slogan != "改过的口号"
    assert BrandDeadlineCommunity.objects.get(community=donghu).deadline.title == "七一表彰大会前"
    assert BrandDeadlineCommunity.objects.get(community=jiuhuashan).deadline == own
    assert not seed_brand_demo(year=year).changed


def test_nothing_without_the_map():
    result = seed_brand_demo(year=2026)
    assert (result.brands, result.deadlines, result.changed) == ([], [], False)
    assert not BrandDeadline.objects.exists()
