"""Thin views: scope, parse, call a service or selector, respond.

One module per sub-domain; this package re-exports every viewset for urls.py.
"""

from __future__ import annotations

from .consents import (
    ConsentViewSet,
    PrivacyNoticeViewSet,
)
from .demands import (
    DemandFilter,
    DemandViewSet,
)
from .members import (
    MemberFilter,
    MemberViewSet,
)
from .points import (
    PointsViewSet,
)
from .posts import (
    ServicePostViewSet,
)
from .registrations import (
    MemberRegistrationViewSet,
    RegistrationFilter,
    UnitRegistrationFilter,
    UnitRegistrationViewSet,
)
from .resources_projects import (
    ResourceViewSet,
    ServiceProjectViewSet,
)

__all__ = [
    "ConsentViewSet",
    "DemandFilter",
    "DemandViewSet",
    "MemberFilter",
    "MemberRegistrationViewSet",
    "MemberViewSet",
    "PointsViewSet",
    "PrivacyNoticeViewSet",
    "RegistrationFilter",
    "ResourceViewSet",
    "ServicePostViewSet",
    "ServiceProjectViewSet",
    "UnitRegistrationFilter",
    "UnitRegistrationViewSet",
]
