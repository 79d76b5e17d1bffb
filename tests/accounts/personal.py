"""A person with something in every app that holds personal data, built through the services.

Used by the export and deletion tests and by the personal-data scan (tests/security): the values
are known, so a test can look for each of them where it must (the owner's export) and must not be.
"""

from __future__ import annotations

import datetime as dt
import itertools
import uuid
from dataclasses import dataclass, field

from django.utils import timezone

from backend.accounts.models import User
from backend.activities import services as activity_services
from backend.activities.models import Activity, CheckIn, LeaveRequest
from backend.appeals import services as appeal_services
from backend.appeals.models import Appeal
from backend.communities.models import Community
from backend.core.events import Audience
from backend.core.models import Upload
from backend.members import services as member_services
from backend.members.models import MemberRegistration, PointsEntry, Resource
from backend.notices.models import SubscribeConsent
from backend.notices.services import create_notice
from backend.volunteers import services as volunteer_services
from backend.volunteers.models import Certificate, IdType, ServiceRecord, Volunteer
from tests import factories
from tests.activities.factories import ActivityFactory, enrol, token
from tests.members.factories import DemandFactory, PostFactory, id_number
from tests.volunteers.factories import approved, days_ago

_serial = itertools.count(1)


def position_near(activity: Activity, i: int = 0) -> tuple[float, float]:
    """Where a phone reports from, about 30 m from the venue: off it in both degrees, so a scan
    can tell the person's position from the venue's (which activities show)."""
    return round(float(activity.latitude) + 0.00023 + i * 0.00001, 6), round(float(activity.longitude) + 0.00017, 6)


@dataclass
class Person:
    user: User
    password: str
    phone: str
    member_phone: str
    contact_phone: str
    id_number: str
    volunteer_id_number: str
    volunteer: Volunteer
    certificate: Certificate
    positions: list[tuple[float, float]] = field(default_factory=list)


def fresh_id_number() -> str:
    """A valid resident ID number no other test uses (born 1985-06-15 in 岳阳楼区)."""
    return id_number(f"43060219850615{next(_serial) % 1000:03d}")


def build_person(community: Community, *, staff: User, copies: int = 1, wechat_openid: str | None = None) -> Person:
    """`copies` of each row that can repeat (points, demands, appeals, activities, records …)."""
    n = next(_serial)
    phone = f"1370000{n:04d}"
    password = "pass-Word-123"
    user = factories.UserFactory(community=community, phone=phone, real_name="张三丰", wechat_openid=wechat_openid)
    member_phone = f"1370001{n:04d}"
    contact_phone = f"1370002{n:04d}"
    known_id = fresh_id_number()
    branch = factories.OrganizationFactory(community=community)
    registration = member_services.register_member(
        by=user,
        community=community,
        organization=branch,
        real_name="张三丰",
        phone=member_phone,
        status="full",
        consent=True,
        id_number=known_id,
        address="岳阳楼区洞庭路1号",
        employer="某公司",
    )
    member_services.approve_registration(registration=registration, by=staff)

    volunteer_id = fresh_id_number()
    volunteer, _ = volunteer_services.register_volunteer(
        by=user,
        community=community,
        real_name="张三丰",
        skills="急救",
        id_type=IdType.RESIDENT_ID,
        id_number=volunteer_id,
        consent=True,
    )
    person = Person(
        user=user,
        password=password,
        phone=phone,
        member_phone=member_phone,
        contact_phone=contact_phone,
        id_number=known_id,
        volunteer_id_number=volunteer_id,
        volunteer=volunteer,
        certificate=None,  # type: ignore[arg-type]
    )

    year = timezone.localdate().year
    for i in range(copies):
        post = PostFactory(community=community)
        member_services.claim_post(post=post, by=user)
        PointsEntry.objects.create(
            user=user, source=f"personal:{n}:{i}", points=5, requested_points=5, year=year, reason="参加活动"
        )
        DemandFactory(community=community, requester=user, contact_name="张三丰", contact_phone=contact_phone)
        Resource.objects.create(community=community, title=f"会议室{i}", description="可借用", offered_by=user)
        appeal_services.submit_appeal(
            by=user,
            client_id=uuid.uuid4(),
            community=community,
            category=Appeal.Category.ENVIRONMENT,
            content="楼道堆放杂物",
            contact_name="张三丰",
            contact_phone=contact_phone,
        )
        create_notice(sender=staff, title=f"通知{i}", body="正文", audience=Audience.community(community))

        activity = ActivityFactory(
            community=community,
            organiser=staff,
            starts_at=timezone.now() - dt.timedelta(minutes=5),
            radius_m=500,
        )
        enrol(activity, user)
        lat, lon = position_near(activity, i)
        person.positions.append((lat, lon))
        activity_services.check_in(
            activity=activity, user=user, client_id=uuid.uuid4(), token=token(activity), latitude=lat, longitude=lon
        )
        meeting = ActivityFactory(
            community=community,
            organiser=staff,
            category=Activity.Category.PARTY_LESSON,
            starts_at=timezone.now() + dt.timedelta(days=2),
        )
        LeaveRequest.objects.create(activity=meeting, user=user, reason="住院治疗")

        record = approved(volunteer, started_at=days_ago(40 + 2 * i), approved_by=staff)
        volunteer_services.correct_record(
            record=record,
            by=staff,
            started_at=record.started_at,
            ended_at=record.ended_at - dt.timedelta(minutes=30),
            reason="提前离开",
        )
    SubscribeConsent.objects.create(user=user, template_id="notice-default", remaining=2, accepted_total=2)
    Upload.objects.create(
        owner=user,
        kind=Upload.Kind.DOCUMENT,
        file="uploads/x.pdf",
        content_type="application/pdf",
        size=10,
        sha256="0" * 64,
        original_name="张三丰的证明.pdf",
    )
    person.certificate, _ = volunteer_services.issue_certificate(
        volunteer=volunteer,
        community=community,
        by=staff,
        period_start=timezone.localdate() - dt.timedelta(days=90),
        period_end=timezone.localdate() - dt.timedelta(days=1),
        service_summary="社区服务",
    )
    assert MemberRegistration.objects.filter(member__user=user, status="approved").exists()
    assert CheckIn.objects.filter(user=user).count() == copies
    assert ServiceRecord.objects.filter(volunteer=volunteer).count() == copies
    return person
