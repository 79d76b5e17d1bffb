"""The console for secretaries: registrations to decide, posts to define, points rules to tune.

Decisions and ledger lines go through the services (the console never writes them directly),
and every page showing members' details to staff is written to the audit log. Importing this
package registers every page (one module per sub-domain).
"""

from __future__ import annotations

from .consents import (
    PersonalDataAccessAdmin,
    PrivacyConsentAdmin,
)
from .demands import (
    DemandAdmin,
    DemandStepInline,
    ResourceAdmin,
    ServicePostAdmin,
    ServiceProjectAdmin,
)
from .points import (
    POINTS_SOURCES,
    PointsEntryAdmin,
    PointsRuleAdmin,
    points_source_label,
)
from .registrations import (
    REGISTRATION_STATE_LABELS,
    MemberRegistrationAdmin,
    PartyMemberAdmin,
    RegistrationStateFilter,
    UnitRegistrationAdmin,
)

__all__ = [
    "POINTS_SOURCES",
    "REGISTRATION_STATE_LABELS",
    "DemandAdmin",
    "DemandStepInline",
    "MemberRegistrationAdmin",
    "PartyMemberAdmin",
    "PersonalDataAccessAdmin",
    "PointsEntryAdmin",
    "PointsRuleAdmin",
    "PrivacyConsentAdmin",
    "RegistrationStateFilter",
    "ResourceAdmin",
    "ServicePostAdmin",
    "ServiceProjectAdmin",
    "UnitRegistrationAdmin",
    "points_source_label",
]
