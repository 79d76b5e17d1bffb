"""What every mini-program user asks for on opening it, each beside the bare view from the same run.

A resident of a community who is also a party member registered there (双报到) and a volunteer,
with 60 notices (40 read), and 60 published activities in the community:

- `auth/users/me` — the account;
- `notices` — the first page of their notices, and `notices/unread-count`;
- `activities` — the first page of the community's published activities;
- `members/me` — their party member profile; `volunteers/me` — their volunteer profile.

Each line ends with the SQL statements one such request sends, counted in this process (the
harness's Django, same settings and database) around one request through Django's test client.
Seeded with the test suite's factories (factory_boy, a dev dependency, as the bench is).
"""

from __future__ import annotations

import secrets
from datetime import timedelta

NOTICES = 60
READ = 40
ACTIVITIES = 60
PAGE = 20

ENDPOINTS = (
    ("everyday.users_me", "/api/v1/auth/users/me/"),
    ("everyday.notices", "/api/v1/notices/"),
    ("everyday.unread_count", "/api/v1/notices/unread-count/"),
    ("everyday.activities", "/api/v1/activities/?community={community}"),
    ("everyday.members_me", "/api/v1/members/me/"),
    ("everyday.volunteers_me", "/api/v1/volunteers/me/"),
)


def seed(run_id: str):
    from django.utils import timezone

    from backend.accounts.models import Role, RoleGrant, User
    from backend.communities.models import Community, Street
    from backend.core.events import Audience
    from backend.notices.models import NoticeReceipt
    from backend.notices.services import create_notice
    from tests.activities.factories import ActivityFactory, party_member
    from tests.volunteers.factories import VolunteerFactory

    street = Street.objects.create(name=f"日常基准街道{run_id}", city="岳阳市岳阳楼区")
    community = Community.objects.create(street=street, name="日常基准社区", address="基准路9号")
    password = secrets.token_urlsafe(16)
    resident = User.objects.create_user(
        phone="13700000001", password=password, real_name="基准居民", community=community
    )
    secretary = User.objects.create_user(phone="13700000002", password=secrets.token_urlsafe(16), real_name="书记")
    RoleGrant.objects.create(user=secretary, role=Role.COMMUNITY_SECRETARY, community=community)
    party_member(community, user=resident)
    VolunteerFactory(user=resident, community=community, volunteer_number="E000000001")
    for i in range(NOTICES):
        create_notice(sender=secretary, title=f"通知{i}", body="请准时参加。", audience=Audience.community(community))
    read = NoticeReceipt.objects.filter(user=resident).order_by("id").values_list("id", flat=True)[:READ]
    NoticeReceipt.objects.filter(id__in=list(read)).update(read_at=timezone.now())
    start = timezone.now() + timedelta(days=1)
    for i in range(ACTIVITIES):
        ActivityFactory(
            community=community, organiser=secretary, starts_at=start + timedelta(hours=i), title=f"主题党日{i}"
        )
    return community, resident.phone, password


def count_queries(path: str, headers: dict[str, str]) -> int:
    """The statements one request sends: counted around the view, as the tests count them."""
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client(headers={"Accept": "application/json", **headers})
    with CaptureQueriesContext(connection) as queries:
        response = client.get(path, HTTP_HOST="127.0.0.1")
    if response.status_code != 200:
        raise RuntimeError(f"GET {path} answered {response.status_code} in-process: {response.content[:300]!r}")
    return len(queries)


def run(ctx) -> list[str]:
    community, phone, password = seed(ctx.run_id)
    auth = {"Authorization": f"Bearer {ctx.jwt(phone, password)}"}
    paths = [(name, path.format(community=community.pk)) for name, path in ENDPOINTS]
    checks = {
        "everyday.notices": lambda body: body["count"] == NOTICES and len(body["results"]) == PAGE,
        "everyday.unread_count": lambda body: body["count"] == NOTICES - READ,
        "everyday.activities": lambda body: body["count"] == ACTIVITIES and len(body["results"]) == PAGE,
        "everyday.members_me": lambda body: body["member"] is not None and len(body["registrations"]) == 1,
        "everyday.volunteers_me": lambda body: body["volunteer_number"] == "E000000001",
        "everyday.users_me": lambda body: body["phone"] == phone,
    }
    for name, path in paths:
        body = ctx.expect("GET", path, 200, headers=auth).json()
        if not checks[name](body):
            ctx.fail(f"{path} does not show the seeded data: {str(body)[:300]}")
    ctx.expect("GET", "/bench/ceiling/plain", 200)

    ceiling = ctx.Target(f"{ctx.api_url}/bench/ceiling/plain")
    lines = []
    for name, path in paths:
        statements = count_queries(path, auth)
        line = ctx.versus(name, ours=ctx.Target(f"{ctx.api_url}{path}", headers=auth), ceiling=ceiling)
        lines.append(f"{line}; {statements} queries")
    return lines
