"""`members/me/` as it was read before it was written directly: the member with member_list's
figures, their registrations, unit filings and current posts through the scoped querysets, and
both points totals, rendered by MemberMeSerializer. The page read by selectors.own_page and written
by member_me_payload is held to it (tests/members/test_me_page.py, tests/reports/test_own_line.py).
"""

from __future__ import annotations

from typing import Any

from rest_framework.renderers import JSONRenderer

from backend.members import selectors, services
from backend.members.models import PostAssignment
from backend.members.serializers import MemberMeSerializer, member_me_payload


def rendered(data: Any) -> bytes:
    return JSONRenderer().render(data)


def former_page(user, *, report: dict[str, Any] | None) -> bytes:
    year = selectors.current_year()
    member = selectors.member_list(user).filter(user=user).first()
    registrations = selectors.registrations_for(user).filter(member__user=user).select_related("consent")
    posts = (
        PostAssignment.objects.filter(member__user=user, left_at__isnull=True)
        .select_related("post", "post__community")
        .order_by("id")
    )
    data = {
        "member": member,
        "registrations": list(registrations) if member is not None else [],
        "unit_registrations": list(selectors.unit_registrations_for(user).filter(filed_by=user)),
        "posts": list(posts),
        "min_posts": selectors.min_posts_per_member(),
        "points": {
            "year": year,
            "year_total": selectors.points_total(user, year=year),
            "total": selectors.points_total(user),
        },
        "privacy_notice_version": services.privacy_notice_version(),
        "report": report,
    }
    return rendered(MemberMeSerializer(data).data)


def written_page(user, *, report: dict[str, Any] | None) -> bytes:
    return rendered(
        member_me_payload(
            selectors.own_page(user),
            report=report,
            min_posts=selectors.min_posts_per_member(),
            privacy_notice_version=services.privacy_notice_version(),
        )
    )
