"""Data for the make-run-like servers (tests/core/test_embedded.py, the console's browser tests),
written into the server's own SQLite file from `manage.py shell`; prints one JSON line."""

from __future__ import annotations

import json
from datetime import timedelta

from django.utils import timezone
from rest_framework_simplejwt.tokens import AccessToken

from backend.accounts.models import Role
from backend.communities.models import Place
from tests import factories
from tests.activities.factories import VENUE, ActivityFactory

BURST = 10


def build(activities: int = 2) -> dict:
    street = factories.StreetFactory(name="岳阳楼街道", city="岳阳市岳阳楼区")
    home = factories.CommunityFactory(street=street, name="东湖社区")
    secretary = factories.staff_of(home, Role.COMMUNITY_SECRETARY)
    now = timezone.now()
    ids = [
        ActivityFactory(
            community=home,
            organiser=secretary,
            title=f"七一主题党日{n}",
            starts_at=now + timedelta(minutes=5),
            ends_at=now + timedelta(hours=2),
            enrollment_required=False,
        ).pk
        for n in range(activities)
    ]
    members = [factories.UserFactory(community=home, real_name=f"党员{n}") for n in range(BURST)]
    factories.GridFactory(community=home, name="第一网格")
    scanner = factories.UserFactory(community=home, real_name="赵扫码")
    factories.UserFactory(community=home, real_name="王奶奶", phone="13900002468")
    # Saved places: one in each community of the street, and one of another street no one here sees.
    neighbour = factories.CommunityFactory(street=street, name="九华山社区")
    outside = factories.CommunityFactory(street=factories.StreetFactory(name="外街道"), name="外街道社区")
    for community, name in ((home, "东湖文化广场"), (neighbour, "九华山广场"), (outside, "外街道广场")):
        Place.objects.create(community=community, name=name, latitude=VENUE[0], longitude=VENUE[1], radius_m=200)
    street_admin = factories.admin_of(street)
    world = {
        "activity_ids": ids,
        "venue": list(VENUE),
        "secretary_phone": secretary.phone,
        "secretary_token": str(AccessToken.for_user(secretary)),
        "street_admin_phone": street_admin.phone,
        "street_admin_token": str(AccessToken.for_user(street_admin)),
        "member_tokens": [str(AccessToken.for_user(member)) for member in members],
        "scanner_token": str(AccessToken.for_user(scanner)),
        "password": "pass-Word-123",  # the factories' password
    }
    print(json.dumps(world, ensure_ascii=False))
    return world
