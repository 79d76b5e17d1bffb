"""Factories for brands, plans, deadlines and honours, and upload rows to refer to by id."""

from __future__ import annotations

import datetime as dt
import itertools

import factory
from django.utils import timezone
from factory.django import DjangoModelFactory

from backend.brands.models import Brand, BrandDeadline, BrandDeadlineCommunity, BrandPlan, Honor
from backend.core.models import Upload
from tests.factories import CommunityFactory, OrganizationFactory

_upload_numbers = itertools.count(1)


def image_upload(owner, **extra) -> Upload:
    n = next(_upload_numbers)
    values = {
        "owner": owner,
        "kind": Upload.Kind.IMAGE,
        "file": f"uploads/test/logo{n}.png",
        "thumbnail": f"uploads/test/logo{n}_thumb.jpg",
        "content_type": "image/png",
        "size": 2048,
        "width": 64,
        "height": 64,
        "sha256": f"{n:064x}",
        "original_name": f"logo{n}.png",
    }
    return Upload.objects.create(**{**values, **extra})


def document_upload(owner, **extra) -> Upload:
    n = next(_upload_numbers)
    values = {
        "owner": owner,
        "kind": Upload.Kind.DOCUMENT,
        "file": f"uploads/test/plan{n}.pdf",
        "content_type": "application/pdf",
        "size": 4096,
        "sha256": f"{n:064x}",
        "original_name": f"方案{n}.pdf",
    }
    return Upload.objects.create(**{**values, **extra})


class BrandFactory(DjangoModelFactory):
    class Meta:
        model = Brand

    community = factory.SubFactory(CommunityFactory)
    name = factory.Sequence(lambda n: f"品牌{n}")
    slogan = "党建引领 服务群众"
    description = "社区党建特色品牌"
    status = Brand.Status.DRAFT

    class Params:
        active = factory.Trait(status=Brand.Status.ACTIVE, published_at=factory.LazyFunction(timezone.now))


class PlanFactory(DjangoModelFactory):
    class Meta:
        model = BrandPlan

    brand = factory.SubFactory(BrandFactory)
    version = factory.Sequence(lambda n: n + 1)
    year = factory.LazyFunction(lambda: timezone.localdate().year)
    content = "品牌设计及方案"
    status = BrandPlan.Status.DRAFT

    class Params:
        submitted = factory.Trait(status=BrandPlan.Status.SUBMITTED, submitted_at=factory.LazyFunction(timezone.now))
        approved = factory.Trait(
            status=BrandPlan.Status.APPROVED,
            submitted_at=factory.LazyFunction(timezone.now),
            reviewed_at=factory.LazyFunction(timezone.now),
        )


def deadline_for(street, communities, due_date: dt.date, title: str = "") -> BrandDeadline:
    """A deadline written straight to the tables (the service's checks are tested on their own)."""
    deadline = BrandDeadline.objects.create(street=street, due_date=due_date, title=title)
    BrandDeadlineCommunity.objects.bulk_create(
        [BrandDeadlineCommunity(deadline=deadline, community=c, year=due_date.year) for c in communities]
    )
    return deadline


class HonorFactory(DjangoModelFactory):
    class Meta:
        model = Honor

    organization = factory.SubFactory(OrganizationFactory)
    street = factory.LazyAttribute(lambda o: o.organization.community.street)
    brand = None
    level = Honor.Level.DISTRICT
    title = factory.Sequence(lambda n: f"优秀基层党组织{n}")
    issuer = "中共岳阳楼区委"
    awarded_on = dt.date(2025, 7, 1)
