"""Shapes of members' input and output. Phones are masked in every list; ID numbers always.

One module per sub-domain; this package re-exports every serializer (their class names are the
schema's component names).
"""

from __future__ import annotations

from .demands import (
    ClaimSerializer,
    DemandAssignSerializer,
    DemandDetailSerializer,
    DemandSerializer,
    DemandStepSerializer,
    DoneSerializer,
    NoteSerializer,
    PersonSerializer,
    ResourceSerializer,
    ResourceUpdateSerializer,
    ServiceProjectSerializer,
    ServiceProjectUpdateSerializer,
)
from .fields import (
    PHONE,
    ConsentMixin,
    MaskedPhoneField,
    phone_field,
)
from .members import (
    REGISTRATION_STATUS_LABELS,
    ActiveRegistrationSerializer,
    AssignmentSerializer,
    HolderSerializer,
    MemberMeQuerySerializer,
    MemberMeSerializer,
    MemberSerializer,
    MyMemberSerializer,
    PointsSummarySerializer,
    ServicePostSerializer,
    ServicePostUpdateSerializer,
)
from .own import member_me_payload
from .points import (
    CorrectionSerializer,
    CorrectionTargetSerializer,
    PointsEntrySerializer,
    PointsRuleSerializer,
    RankingQuerySerializer,
    RankingRowSerializer,
    YearQuerySerializer,
)
from .registrations import (
    ConsentSerializer,
    ConsentWithdrawalSerializer,
    ConsentWithdrawSerializer,
    PrivacyNoticeSerializer,
    ReasonSerializer,
    RegistrationCreateSerializer,
    RegistrationSerializer,
    RegistrationStepSerializer,
    UnitRegistrationSerializer,
    UnitRegistrationUpdateSerializer,
)

__all__ = [
    "PHONE",
    "REGISTRATION_STATUS_LABELS",
    "ActiveRegistrationSerializer",
    "AssignmentSerializer",
    "ClaimSerializer",
    "ConsentMixin",
    "ConsentSerializer",
    "ConsentWithdrawSerializer",
    "ConsentWithdrawalSerializer",
    "CorrectionSerializer",
    "CorrectionTargetSerializer",
    "DemandAssignSerializer",
    "DemandDetailSerializer",
    "DemandSerializer",
    "DemandStepSerializer",
    "DoneSerializer",
    "HolderSerializer",
    "MaskedPhoneField",
    "MemberMeQuerySerializer",
    "MemberMeSerializer",
    "MemberSerializer",
    "MyMemberSerializer",
    "NoteSerializer",
    "PersonSerializer",
    "PointsEntrySerializer",
    "PointsRuleSerializer",
    "PointsSummarySerializer",
    "PrivacyNoticeSerializer",
    "RankingQuerySerializer",
    "RankingRowSerializer",
    "ReasonSerializer",
    "RegistrationCreateSerializer",
    "RegistrationSerializer",
    "RegistrationStepSerializer",
    "ResourceSerializer",
    "ResourceUpdateSerializer",
    "ServicePostSerializer",
    "ServicePostUpdateSerializer",
    "ServiceProjectSerializer",
    "ServiceProjectUpdateSerializer",
    "UnitRegistrationSerializer",
    "UnitRegistrationUpdateSerializer",
    "YearQuerySerializer",
    "member_me_payload",
    "phone_field",
]
