"""`python -m tests.security.server_log_seed`: the people and places the server-log run needs.

Run with the server's environment (backend.settings, the run's own database); prints one JSON
object: ids, phones and the staff's password. The data holds known personal values (a person with
a row in every app, party members and volunteers with ID numbers), so the run's pages and exports
carry them and the scan can tell whether any reached the log.
"""

from __future__ import annotations

import datetime as dt
import json

import django


def main() -> None:
    django.setup()

    from django.utils import timezone

    from backend.activities.models import Activity
    from tests import factories
    from tests.accounts.personal import build_person
    from tests.activities.factories import ActivityFactory
    from tests.members.factories import registered_member

    street = factories.StreetFactory(name="日志街道")
    community = factories.CommunityFactory(street=street, name="日志社区")
    other = factories.CommunityFactory(street=factories.StreetFactory(name="他街道"), name="他社区")
    grid = factories.GridFactory(community=community)
    branch = factories.OrganizationFactory(community=community)
    secretary = factories.staff_of(community)
    street_admin = factories.admin_of(street)
    other_secretary = factories.staff_of(other)
    person = build_person(community, staff=secretary)
    for n in range(3):
        registered_member(community, grid=grid, phone=f"1390000{n:04d}")
    activity = ActivityFactory(
        community=community,
        organiser=secretary,
        starts_at=timezone.now() - dt.timedelta(minutes=5),
        ends_at=timezone.now() + dt.timedelta(hours=2),
        radius_m=500,
        category=Activity.Category.VOLUNTEER_SERVICE,
    )
    print(
        json.dumps(
            {
                "community": community.pk,
                "street": street.pk,
                "branch": branch.pk,
                "activity": activity.pk,
                "activity_position": [float(activity.latitude), float(activity.longitude)],
                "staff": {"phone": secretary.phone, "password": "pass-Word-123"},
                "street_admin": {"phone": street_admin.phone, "password": "pass-Word-123"},
                "other_staff": {"phone": other_secretary.phone, "password": "pass-Word-123"},
                "person": {"phone": person.phone, "password": person.password, "id": person.user.pk},
                "positions": person.positions,
            }
        )
    )


if __name__ == "__main__":
    main()
