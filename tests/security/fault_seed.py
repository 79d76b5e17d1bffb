"""`python -m tests.security.fault_seed`: the people the fault tests need, in the fault stack's database.

Run with the servers' environment (backend.settings, the stack's own database); prints one JSON
object: ids and access tokens. Two communities: the first has a secretary and two residents who
keep sockets open; the second a secretary and one resident who never connects, has a WeChat
identity and one subscribe-message consent, so only the notices sent to them plan a message.
"""

from __future__ import annotations

import json

import django


def main() -> None:
    django.setup()

    from rest_framework_simplejwt.tokens import AccessToken

    from backend.notices import subscribe
    from backend.notices.models import SubscribeConsent
    from tests import factories

    def token(user) -> str:
        return str(AccessToken.for_user(user))

    street = factories.StreetFactory()
    online, offline = factories.CommunityFactory(street=street), factories.CommunityFactory(street=street)
    secretary = factories.staff_of(online)
    residents = [factories.UserFactory(community=online) for _ in range(2)]
    other_secretary = factories.staff_of(offline)
    subscriber = factories.UserFactory(community=offline, wechat_openid="o-fault-subscriber-0000000000")
    template = subscribe.template_for_kind("announcement")
    SubscribeConsent.objects.create(user=subscriber, template_id=template.template_id, remaining=1, accepted_total=1)
    print(
        json.dumps(
            {
                "community": online.pk,
                "offline_community": offline.pk,
                "secretary": token(secretary),
                "residents": [{"id": user.pk, "token": token(user)} for user in residents],
                "other_secretary": token(other_secretary),
                "subscriber": {"id": subscriber.pk, "openid": subscriber.wechat_openid},
            }
        )
    )


if __name__ == "__main__":
    main()
