"""The rules of red property: who keeps what, the estate's governance, committees, meetings, scores.

Who may write:
- an estate's governance, committees, 三方联动 meetings, assessments and self-governance: the
  staff of the estate's community and the admins of its street; naming a 红色物业示范小区
  (`is_red_property`) is the street's call, so only its admins change that flag;
- the property company register: the staff of the company's street (its admins and the staff of
  its communities); removing a company from it: the street's admins, and only while it manages
  no estate;
- the assessment sheet (items and the demonstration line): the street's admins.

One module per sub-domain; every public service is imported from here. Views have already
answered 404 for objects outside the caller's scope; the checks here hold for any caller (the
console, commands, tests).
"""

from __future__ import annotations

from .assessment import (
    create_assessment,
    create_assessment_item,
    create_assessment_standard,
    delete_assessment,
    delete_assessment_item,
    delete_assessment_standard,
    may_keep_sheets,
    update_assessment,
    update_assessment_item,
    update_assessment_standard,
)
from .committees import (
    create_owners_committee,
    create_residents_committee,
    delete_owners_committee,
    delete_residents_committee,
    update_owners_committee,
    update_residents_committee,
)
from .companies import (
    can_keep_register,
    create_property_company,
    delete_property_company,
    update_property_company,
)
from .governance import (
    check_may_change_governance,
    update_estate_governance,
)
from .meetings import (
    add_follow_up,
    create_joint_meeting,
    delete_follow_up,
    delete_joint_meeting,
    update_follow_up,
    update_joint_meeting,
)
from .self_governance import (
    create_self_governance_group,
    delete_self_governance_group,
    delete_self_governance_meeting,
    record_self_governance_meeting,
    update_self_governance_group,
    update_self_governance_meeting,
)

__all__ = [
    "add_follow_up",
    "can_keep_register",
    "check_may_change_governance",
    "create_assessment",
    "create_assessment_item",
    "create_assessment_standard",
    "create_joint_meeting",
    "create_owners_committee",
    "create_property_company",
    "create_residents_committee",
    "create_self_governance_group",
    "delete_assessment",
    "delete_assessment_item",
    "delete_assessment_standard",
    "delete_follow_up",
    "delete_joint_meeting",
    "delete_owners_committee",
    "delete_property_company",
    "delete_residents_committee",
    "delete_self_governance_group",
    "delete_self_governance_meeting",
    "may_keep_sheets",
    "record_self_governance_meeting",
    "update_assessment",
    "update_assessment_item",
    "update_assessment_standard",
    "update_estate_governance",
    "update_follow_up",
    "update_joint_meeting",
    "update_owners_committee",
    "update_property_company",
    "update_residents_committee",
    "update_self_governance_group",
    "update_self_governance_meeting",
]
