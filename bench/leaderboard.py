"""Volunteer hours at scale: 200,000 volunteers with 2,000,000 approved records, generated in SQL.

- leaderboard: `GET /api/v1/volunteers/leaderboard/?community=C&period=YYYY-MM` (a community's
  monthly leaderboard, first page, with the caller's own rank) as a volunteer of that community;
- total: `GET /api/v1/volunteers/me/` (one volunteer's approved total and star level);

each beside the bare view from the same run. The target: both under 50 ms median.
"""

from __future__ import annotations

import secrets
import time
from datetime import datetime, timedelta

VOLUNTEERS = 200_000
RECORDS_PER_VOLUNTEER = 10
COMMUNITIES = 200
DAYS = 730
TARGET_MS = 50.0


def _say(message: str) -> None:
    from bench.__main__ import say

    say(message)


def seed(run_id: str):
    from django.db import connection, transaction
    from django.utils import timezone

    from backend.accounts.models import User
    from backend.communities.models import Community, Street
    from backend.volunteers.models import ServiceRecord, Volunteer

    street = Street.objects.create(name=f"志愿基准街道{run_id}", city="岳阳市岳阳楼区")
    communities = Community.objects.bulk_create(
        Community(street=street, name=f"志愿基准社区{i}") for i in range(COMMUNITIES)
    )
    approver = User.objects.create_user(phone="13900000009", password=secrets.token_urlsafe(16), real_name="审核人")
    base = timezone.now() - timedelta(days=DAYS)
    community_ids = [c.pk for c in communities]
    started = time.monotonic()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO accounts_user (password, is_superuser, real_name, nickname, is_active, is_staff, date_joined)
            SELECT '!', false, '志愿者' || n, 'bench-volunteer', true, false, now()
            FROM generate_series(1, %s) AS n
            """,
            [VOLUNTEERS],
        )
        cursor.execute(
            """
            INSERT INTO volunteers_volunteer (
                user_id, community_id, volunteer_number, real_name, skills, id_type, id_number_encrypted,
                id_number_masked, consent_version, registered_via, registered_on, created_at, updated_at)
            SELECT u.id, (%s::bigint[])[1 + (u.n %% %s)], 'B' || lpad(u.n::text, 9, '0'), u.real_name, '', '', '',
                   '', '', 'self', current_date, now(), now()
            FROM (SELECT id, real_name, row_number() OVER (ORDER BY id) AS n
                  FROM accounts_user WHERE nickname = 'bench-volunteer') AS u
            """,
            [community_ids, COMMUNITIES],
        )
        _say(f"leaderboard: {VOLUNTEERS} users and volunteers in {time.monotonic() - started:.0f} s")
        cursor.execute(
            """
            INSERT INTO volunteers_servicerecord (
                volunteer_id, community_id, content, place, reported_started_at, reported_ended_at,
                started_at, ended_at, hours, source, status, overlap_flag, over_cap_flag, created_at,
                approved_by_id, approved_at, reject_reason)
            SELECT v.id, v.community_id, '社区志愿服务', '', s.t, s.t + s.d, s.t, s.t + s.d,
                   round((extract(epoch FROM s.d) / 3600)::numeric, 2), 'manual', 'approved', false, false, s.t,
                   %s, s.t, ''
            FROM volunteers_volunteer AS v
            CROSS JOIN generate_series(0, %s) AS k
            CROSS JOIN LATERAL (
                SELECT %s::timestamptz + ((v.id * 37 + k * 73) %% %s) * interval '1 day'
                                      + (k %% 4) * interval '3 hours' AS t,
                       (4 + (v.id + k) %% 12) * interval '15 minutes' AS d
            ) AS s
            """,
            [approver.pk, RECORDS_PER_VOLUNTEER - 1, base, DAYS],
        )
    _say(f"leaderboard: {ServiceRecord.objects.count()} records in {time.monotonic() - started:.0f} s")
    # What autovacuum does to a table that has been written to: statistics for the planner, and the
    # visibility map that lets the leaderboard read its covering index without visiting the table.
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE accounts_user, volunteers_volunteer, volunteers_servicerecord")

    # The volunteer who asks: a real account (to sign in) among the seeded ones, with a month of hours.
    password = secrets.token_urlsafe(16)
    user = User.objects.create_user(phone="13900000010", password=password, real_name="基准志愿者")
    community = communities[7]
    volunteer = Volunteer.objects.create(
        user=user, community=community, volunteer_number="B999999999", real_name=user.real_name
    )
    last_month = (timezone.localdate().replace(day=1) - timedelta(days=1)).replace(day=3)
    first = timezone.make_aware(datetime.combine(last_month, datetime.min.time())) + timedelta(hours=9)
    ServiceRecord.objects.bulk_create(
        ServiceRecord(
            volunteer=volunteer,
            community=community,
            content="巡逻",
            reported_started_at=first + timedelta(days=day),
            reported_ended_at=first + timedelta(days=day, hours=2),
            started_at=first + timedelta(days=day),
            ended_at=first + timedelta(days=day, hours=2),
            hours="2.00",
            source="manual",
            status="approved",
            approved_by=approver,
            approved_at=first + timedelta(days=day),
        )
        for day in range(5)
    )
    return community, user.phone, password, last_month.strftime("%Y-%m")


def run(ctx) -> list[str]:
    community, phone, password, month = seed(ctx.run_id)
    auth = {"Authorization": f"Bearer {ctx.jwt(phone, password)}"}
    board_url = f"/api/v1/volunteers/leaderboard/?community={community.pk}&period={month}"
    board = ctx.expect("GET", board_url, 200, headers=auth).json()
    if board["count"] < 100 or not board["results"] or board["me"] is None or board["me"]["rank"] is None:
        ctx.fail(f"the leaderboard does not show the seeded month: {str(board)[:300]}")
    me = ctx.expect("GET", "/api/v1/volunteers/me/", 200, headers=auth).json()
    if me["total_hours"] != "10.00":
        ctx.fail(f"the volunteer's total is wrong: {me}")
    ctx.expect("GET", "/bench/ceiling/plain", 200)

    ceiling = ctx.Target(f"{ctx.api_url}/bench/ceiling/plain")
    lines = []
    for name, url in (
        ("leaderboard.community_month", board_url),
        ("leaderboard.volunteer_total", "/api/v1/volunteers/me/"),
    ):
        line = ctx.versus(name, ours=ctx.Target(f"{ctx.api_url}{url}", headers=auth), ceiling=ceiling)
        p50 = min(r.p50_ms for key, r in ctx.results.items() if key.startswith(f"{name}.ours."))
        verdict = "met" if p50 < TARGET_MS else "NOT met"
        lines.append(f"{line}; target p50 < {TARGET_MS:.0f} ms {verdict} ({p50:.1f} ms)")
    return lines
