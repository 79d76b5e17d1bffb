"""Reads: who sees which members, registrations and demands; post occupancy; points totals and rankings.

One module per sub-domain; this package re-exports every public name.
"""

from __future__ import annotations

from .demands import (
    community_user_may_lead,
    demand_steps,
    demands_due_for_auto_confirmation,
    demands_for,
    editable_projects,
    editable_resources,
    projects_for,
    resources_for,
)
from .members import (
    NOT_REGISTERED,
    active_post_count_subquery,
    member_in_staff_scope,
    member_list,
    members_for,
    registration_status_annotation,
    registrations_for,
    unit_registrations_for,
    year_points_subquery,
)
from .membership import (
    APPROVED,
    approved_member_in,
    community_user_ids,
    current_year,
    grid_user_ids,
    liaison_community_ids,
    min_posts_per_member,
    my_report_line,
    registered_community_ids,
    require_staff,
    require_staff_or_liaison,
    street_user_ids,
    unit_community_ids,
    unit_registered_with,
)
from .personal_data import (
    my_consents,
    personal_data,
)
from .points import (
    member_street_id,
    points_ledger,
    points_ranking,
    points_total,
    ranking_community_id,
    rule_for,
    rule_points_in_year,
    rules_for_street,
    rules_for_user,
)
from .posts import (
    editable_posts,
    my_assignments,
    post_holders,
    posts_for,
)

__all__ = [
    "APPROVED",
    "NOT_REGISTERED",
    "active_post_count_subquery",
    "approved_member_in",
    "community_user_ids",
    "community_user_may_lead",
    "current_year",
    "demand_steps",
    "demands_due_for_auto_confirmation",
    "demands_for",
    "editable_posts",
    "editable_projects",
    "editable_resources",
    "grid_user_ids",
    "liaison_community_ids",
    "member_in_staff_scope",
    "member_list",
    "member_street_id",
    "members_for",
    "min_posts_per_member",
    "my_assignments",
    "my_consents",
    "my_report_line",
    "personal_data",
    "points_ledger",
    "points_ranking",
    "points_total",
    "post_holders",
    "posts_for",
    "projects_for",
    "ranking_community_id",
    "registered_community_ids",
    "registration_status_annotation",
    "registrations_for",
    "require_staff",
    "require_staff_or_liaison",
    "resources_for",
    "rule_for",
    "rule_points_in_year",
    "rules_for_street",
    "rules_for_user",
    "street_user_ids",
    "unit_community_ids",
    "unit_registered_with",
    "unit_registrations_for",
    "year_points_subquery",
]
