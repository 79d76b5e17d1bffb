"""Factories and helpers for volunteers: volunteers with valid ID numbers, records in the past."""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta
from decimal import Decimal

import factory
from django.utils import timezone
from factory.django import DjangoModelFactory

from backend.core import idcard
from backend.volunteers.models import IdType, ServiceRecord, Volunteer, hours_between
from tests import factories

_sequence = itertools.count(1)


def id_number() -> str:
    """A fresh valid resident ID number (born 1990-01-01 in 岳阳楼区)."""
    first17 = f"43060219900101{next(_sequence) % 1000:03d}"
    return first17 + idcard.check_character(first17)


class VolunteerFactory(DjangoModelFactory):
    class Meta:
        model = Volunteer

    user = factory.SubFactory(factories.UserFactory)
    community = factory.SubFactory(factories.CommunityFactory)
    volunteer_number = factory.Sequence(lambda n: f"T{n:09d}")
    real_name = factory.LazyAttribute(lambda o: o.user.real_name or "志愿者")


def with_id(volunteer: Volunteer, number: str | None = None) -> Volunteer:
    volunteer.set_id_number(IdType.RESIDENT_ID, number or id_number())
    volunteer.consent_version = "2026-01"
    volunteer.consent_at = timezone.now()
    volunteer.save()
    return volunteer


def days_ago(days: float, *, hour: int = 9) -> datetime:
    moment = timezone.localtime() - timedelta(days=days)
    return moment.replace(hour=hour, minute=0, second=0, microsecond=0)


def record(
    volunteer: Volunteer,
    *,
    community=None,
    started_at: datetime | None = None,
    hours: float | Decimal | str = 2,
    status: str = ServiceRecord.Status.PENDING,
    approved_by=None,
    source: str = ServiceRecord.Source.MANUAL,
    **extra,
) -> ServiceRecord:
    """A record as the services leave it: effective times equal to the reported ones."""
    started_at = started_at or days_ago(10)
    ended_at = started_at + timedelta(seconds=int(Decimal(str(hours)) * 3600))
    values = {
        "volunteer": volunteer,
        "community": community or volunteer.community,
        "content": "社区环境整治",
        "place": "党群服务中心",
        "reported_started_at": started_at,
        "reported_ended_at": ended_at,
        "started_at": started_at,
        "ended_at": ended_at,
        "hours": hours_between(started_at, ended_at),
        "source": source,
        "status": status,
    }
    if status == ServiceRecord.Status.APPROVED:
        values["approved_by"] = approved_by or factories.UserFactory()
        values["approved_at"] = timezone.now()
    if status == ServiceRecord.Status.REJECTED:
        values["rejected_at"] = timezone.now()
        values["reject_reason"] = "不符合"
    values.update(extra)
    return ServiceRecord.objects.create(**values)


def approved(volunteer: Volunteer, **kwargs) -> ServiceRecord:
    return record(volunteer, status=ServiceRecord.Status.APPROVED, **kwargs)
