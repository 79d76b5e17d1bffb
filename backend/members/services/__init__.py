"""Members' writes: 双报到 of members and units, service posts, the 三单 flow and the points ledger.

Every function runs in a transaction, locks the row whose state it changes, and raises a
DomainError with a code from API.md. Events leave with `emit()` after commit. One module per
sub-domain; this package re-exports their public names, so `services.approve_registration` works.
"""

from __future__ import annotations

from .consents import (
    erase_personal_data,
    privacy_notice_version,
    withdraw_consent,
)
from .demands import (
    DEMAND_COMPLETED_RULE,
    assign_demand,
    auto_confirm_after,
    auto_confirm_due_demands,
    cancel_demand,
    claim_demand,
    complete_demand,
    confirm_demand,
    file_demand,
    require_assigner,
    require_canceller,
    require_confirmer,
    require_worker,
    submit_demand,
)
from .points import (
    award_points,
    correct_points,
    require_points_corrector,
    save_points_rule,
)
from .posts import (
    POST_EDITABLE,
    claim_post,
    create_post,
    leave_post,
    update_post,
)
from .registrations import (
    approve_registration,
    register_member,
    reject_registration,
    revoke_registration,
    withdraw_registration,
)
from .resources_projects import (
    PROJECT_EDITABLE,
    RESOURCE_EDITABLE,
    create_project,
    offer_resource,
    require_may_offer_resources,
    update_project,
    update_resource,
)
from .units import (
    UNIT_EDITABLE,
    approve_unit_registration,
    register_unit,
    reject_unit_registration,
    require_unit_editor,
    update_unit_registration,
    withdraw_unit_registration,
)

__all__ = [
    "DEMAND_COMPLETED_RULE",
    "POST_EDITABLE",
    "PROJECT_EDITABLE",
    "RESOURCE_EDITABLE",
    "UNIT_EDITABLE",
    "approve_registration",
    "approve_unit_registration",
    "assign_demand",
    "auto_confirm_after",
    "auto_confirm_due_demands",
    "award_points",
    "cancel_demand",
    "claim_demand",
    "claim_post",
    "complete_demand",
    "confirm_demand",
    "correct_points",
    "create_post",
    "create_project",
    "erase_personal_data",
    "file_demand",
    "leave_post",
    "offer_resource",
    "privacy_notice_version",
    "register_member",
    "register_unit",
    "reject_registration",
    "reject_unit_registration",
    "require_assigner",
    "require_canceller",
    "require_confirmer",
    "require_may_offer_resources",
    "require_points_corrector",
    "require_unit_editor",
    "require_worker",
    "revoke_registration",
    "save_points_rule",
    "submit_demand",
    "update_post",
    "update_project",
    "update_resource",
    "update_unit_registration",
    "withdraw_consent",
    "withdraw_registration",
    "withdraw_unit_registration",
]
