"""Factories and helpers for activities: an activity near 岳阳楼, tokens, positions, members."""

from __future__ import annotations

import itertools
import math
import uuid
from datetime import datetime, timedelta

import factory
from django.utils import timezone
from factory.django import DjangoModelFactory

from backend.activities import services
from backend.activities.models import Activity, Enrollment
from backend.activities.services import codes
from backend.core.models import Upload
from backend.members.models import MemberRegistration, PartyMember, PrivacyConsent
from tests import factories

# 岳阳楼, GCJ-02.
VENUE = (29.372425, 113.093627)


class ActivityFactory(DjangoModelFactory):
    class Meta:
        model = Activity

    community = factory.SubFactory(factories.CommunityFactory)
    organiser = factory.SubFactory(factories.UserFactory)
    title = factory.Sequence(lambda n: f"主题党日活动{n}")
    category = Activity.Category.PARTY_DAY
    description = "重温入党誓词"
    starts_at = factory.LazyFunction(lambda: timezone.now() + timedelta(minutes=10))
    ends_at = factory.LazyAttribute(lambda o: o.starts_at + timedelta(hours=2))
    place = "岳阳楼社区党群服务中心"
    latitude = VENUE[0]
    longitude = VENUE[1]
    radius_m = 200
    status = Activity.Status.PUBLISHED
    published_at = factory.LazyFunction(timezone.now)
    points = 0


def enrol(activity: Activity, user=None, status: str = Enrollment.Status.ENROLLED) -> Enrollment:
    return Enrollment.objects.create(activity=activity, user=user or factories.UserFactory(), status=status)


def token(activity: Activity, *, now: datetime | None = None, slots_ago: int = 0) -> str:
    return services.checkin_token(activity.pk, codes._slot(now or timezone.now()) - slots_ago)


def north_of(point: tuple[float, float], metres: float) -> tuple[float, float]:
    """A point `metres` due north (one degree of latitude is about 111.2 km)."""
    return point[0] + metres / 111_195.0, point[1]


def east_of(point: tuple[float, float], metres: float) -> tuple[float, float]:
    return point[0], point[1] + metres / (111_195.0 * math.cos(math.radians(point[0])))


def position_body(activity: Activity, *, metres: float = 20, accuracy: float | None = 15, **extra) -> dict:
    lat, lon = north_of((float(activity.latitude), float(activity.longitude)), metres)
    body = {"client_id": str(uuid.uuid4()), "token": token(activity), "latitude": lat, "longitude": lon}
    if accuracy is not None:
        body["accuracy"] = accuracy
    return {**body, **extra}


def party_member(community=None, *, organization=None, user=None) -> PartyMember:
    """A party member of `organization`, registered (双报到, approved) with `community` when given."""
    user = user or factories.UserFactory()
    consent = PrivacyConsent.objects.create(user=user, purpose=PrivacyConsent.Purpose.PARTY_MEMBER, version="2026-01")
    organization = organization or factories.UnitOrganizationFactory()
    member = PartyMember.objects.create(
        user=user,
        organization=organization,
        status=PartyMember.Status.FULL,
        real_name=user.real_name or "党员",
        phone=user.phone or "13800000000",
        consent=consent,
    )
    if community is not None:
        MemberRegistration.objects.create(
            member=member,
            community=community,
            organization=organization,
            real_name=member.real_name,
            phone=member.phone,
            consent=consent,
            status=MemberRegistration.Status.APPROVED,
            approved_at=timezone.now(),
        )
    return member


_uploads = itertools.count(1)


def image_upload(owner, **extra) -> Upload:
    """An upload row as POST /uploads/ leaves it (the file itself is not needed here)."""
    n = next(_uploads)
    values = {
        "owner": owner,
        "kind": Upload.Kind.IMAGE,
        "file": f"uploads/test/activity{n}.jpg",
        "thumbnail": f"uploads/test/activity{n}_thumb.jpg",
        "content_type": "image/jpeg",
        "size": 4096,
        "width": 800,
        "height": 600,
        "sha256": f"{n:064x}",
        "original_name": f"现场{n}.jpg",
    }
    return Upload.objects.create(**{**values, **extra})


def document_upload(owner) -> Upload:
    n = next(_uploads)
    return Upload.objects.create(
        owner=owner,
        kind=Upload.Kind.DOCUMENT,
        file=f"uploads/test/minutes{n}.pdf",
        content_type="application/pdf",
        size=2048,
        sha256=f"{n:064x}",
        original_name=f"会议材料{n}.pdf",
    )
