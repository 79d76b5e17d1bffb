"""Factories for the appeals tests: rows with chosen times, for fixtures the services cannot backdate."""

from __future__ import annotations

import uuid

import factory
from django.conf import settings
from django.utils import timezone
from factory.django import DjangoModelFactory

from backend.appeals.models import Appeal, AppealStep
from tests import factories


def _due(kind: str):
    def compute(appeal) -> object:
        return appeal.submitted_at + settings.APPEAL_DEADLINES[appeal.urgency][kind]

    return factory.LazyAttribute(compute)


class AppealFactory(DjangoModelFactory):
    """An appeal as the resident filed it in the app; pass timestamps and status to place it further on."""

    class Meta:
        model = Appeal

    client_id = factory.LazyFunction(uuid.uuid4)
    source = Appeal.Source.APP
    community = factory.SubFactory(factories.CommunityFactory)
    resident = factory.SubFactory(factories.UserFactory)
    filed_by = factory.SelfAttribute("resident")
    contact_name = factory.LazyAttribute(lambda a: a.resident.real_name if a.resident else "")
    contact_phone = factory.LazyAttribute(lambda a: (a.resident.phone or "") if a.resident else "")
    category = Appeal.Category.ENVIRONMENT
    urgency = Appeal.Urgency.GENERAL
    content = "楼道堆放杂物, 影响通行"
    submitted_at = factory.LazyFunction(timezone.now)
    respond_due_at = _due("respond")
    resolve_due_at = _due("resolve")


class AppealStepFactory(DjangoModelFactory):
    class Meta:
        model = AppealStep

    appeal = factory.SubFactory(AppealFactory)
    kind = AppealStep.Kind.SUBMITTED
    actor = factory.SelfAttribute("appeal.resident")
    at = factory.SelfAttribute("appeal.submitted_at")
