"""The two most ordinary requests, beside what the bare stack does for the same kind of work.

- read: `GET /api/v1/communities/` (anonymous, as the mini-program asks before sign-in; one page
  of 20 out of the seeded communities, with the street name) against a bare Django JSON view;
- write: `POST /api/v1/estates/` as a community secretary with a JWT (auth, throttle, scope,
  validation with the unique check, the service's transaction) against a DRF view that validates
  a body and inserts one row under a unique constraint.
"""

from __future__ import annotations

import json
import secrets

COMMUNITIES = 60


def seed(run_id: str):
    from backend.accounts.models import Role, RoleGrant, User
    from backend.communities.models import Community, Street

    street = Street.objects.create(name=f"基准街道{run_id}", city="岳阳市岳阳楼区")
    communities = Community.objects.bulk_create(
        Community(street=street, name=f"基准社区{i}", address=f"基准路{i}号") for i in range(COMMUNITIES)
    )
    password = secrets.token_urlsafe(16)
    secretary = User.objects.create_user(phone="13900000001", password=password, real_name="基准书记")
    RoleGrant.objects.create(user=secretary, role=Role.COMMUNITY_SECRETARY, community=communities[0])
    return communities[0], secretary.phone, password


def run(ctx) -> list[str]:
    community, phone, password = seed(ctx.run_id)
    token = ctx.jwt(phone, password)
    auth = {"Authorization": f"Bearer {token}"}

    listed = ctx.expect("GET", "/api/v1/communities/", 200).json()
    if listed["count"] < COMMUNITIES or len(listed["results"]) != 20:
        ctx.fail(f"the community list does not show the seeded rows: {str(listed)[:300]}")
    estate = {"community": community.pk, "name": "小区-{n}", "address": "基准路1号", "households": 120}
    ctx.expect("POST", "/api/v1/estates/", 201, headers=auth, json_body={**estate, "name": "小区-check"})
    ctx.expect("GET", "/bench/ceiling/plain", 200)
    ctx.expect("POST", "/bench/ceiling/insert", 201, json_body={"name": "row-check", "value": 1})

    return [
        ctx.versus(
            "api_basics.list_communities",
            ours=ctx.Target(f"{ctx.api_url}/api/v1/communities/"),
            ceiling=ctx.Target(f"{ctx.api_url}/bench/ceiling/plain"),
        ),
        ctx.versus(
            "api_basics.create_estate",
            ours=ctx.Target(f"{ctx.api_url}/api/v1/estates/", "POST", auth, json.dumps(estate, ensure_ascii=False)),
            ceiling=ctx.Target(
                f"{ctx.api_url}/bench/ceiling/insert", "POST", body=json.dumps({"name": "row-{n}", "value": 1})
            ),
        ),
    ]
