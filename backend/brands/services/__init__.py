"""The rules of 一社区一品牌: brands, plan versions and their review, deadlines, reminders, honours.

Community staff (secretary or staff of that community) write their community's brand and plans;
street admins may edit any brand in their street, set the deadlines and are the only reviewers of
plans. Every write that others should hear about is announced with `emit()` after commit.

One module per part of the work; every public service is imported from here.
"""

from __future__ import annotations

from .access import (
    can_edit_brand,
    can_manage_street,
    can_review_plans,
    can_write_plans,
    is_street_admin,
    require_brand_editor,
    require_honor_keeper,
    require_plan_reviewer,
    require_plan_writer,
    require_staff,
    require_street_admin,
)
from .brands import (
    create_brand,
    delete_brand,
    publish_brand,
    retire_brand,
    update_brand,
)
from .deadlines import (
    check_deadline,
    create_deadline,
    delete_deadline,
    update_deadline,
)
from .honors import (
    check_honor,
    create_honor,
    delete_honor,
    update_honor,
)
from .plans import (
    approve_plan,
    check_new_plan,
    create_plan,
    delete_plan,
    is_overdue,
    return_plan,
    submit_plan,
    update_plan,
)
from .reminders import (
    reminder_kind,
    send_due_reminders,
)

__all__ = [
    "approve_plan",
    "can_edit_brand",
    "can_manage_street",
    "can_review_plans",
    "can_write_plans",
    "check_deadline",
    "check_honor",
    "check_new_plan",
    "create_brand",
    "create_deadline",
    "create_honor",
    "create_plan",
    "delete_brand",
    "delete_deadline",
    "delete_honor",
    "delete_plan",
    "is_overdue",
    "is_street_admin",
    "publish_brand",
    "reminder_kind",
    "require_brand_editor",
    "require_honor_keeper",
    "require_plan_reviewer",
    "require_plan_writer",
    "require_staff",
    "require_street_admin",
    "retire_brand",
    "return_plan",
    "send_due_reminders",
    "submit_plan",
    "update_brand",
    "update_deadline",
    "update_honor",
    "update_plan",
]
