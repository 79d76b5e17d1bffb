"""Factories for red property: companies with valid credit codes, governance, committees, meetings, sheets."""

from __future__ import annotations

import datetime as dt
import itertools
from decimal import Decimal

import factory
from factory.django import DjangoModelFactory

from backend.core.credit_code import CHARSET, WEIGHTS
from backend.red_property.models import (
    AssessmentItem,
    AssessmentScore,
    AssessmentStandard,
    EstateAssessment,
    EstateGovernance,
    FollowUpItem,
    JointMeeting,
    JointMeetingParticipant,
    OwnersCommittee,
    OwnersCommitteeMember,
    PropertyCompany,
    ResidentsCommittee,
    SelfGovernanceGroup,
    SelfGovernanceMeeting,
)
from tests.factories import CommunityFactory, EstateFactory, StreetFactory

_serials = itertools.count(1)


def with_check_character(first17: str) -> str:
    """GB 32100's check character, computed here on its own so the tests do not lean on the code under test."""
    total = sum(CHARSET.index(ch) * w for ch, w in zip(first17, WEIGHTS, strict=True))
    return first17 + CHARSET[(31 - total % 31) % 31]


def credit_code() -> str:
    """A fresh valid code: a company (91) registered in 岳阳楼区 (430602) with a made-up organisation code."""
    return with_check_character(f"91430602MA{next(_serials):07d}")


class PropertyCompanyFactory(DjangoModelFactory):
    class Meta:
        model = PropertyCompany

    name = factory.Sequence(lambda n: f"岳阳物业服务有限公司{n}")
    credit_code = factory.LazyFunction(credit_code)
    street = factory.SubFactory(StreetFactory)
    contact_name = "王经理"
    contact_phone = factory.Sequence(lambda n: f"137{n:08d}")
    party_member_count = 3


class GovernanceFactory(DjangoModelFactory):
    class Meta:
        model = EstateGovernance

    estate = factory.SubFactory(EstateFactory)


class OwnersCommitteeFactory(DjangoModelFactory):
    class Meta:
        model = OwnersCommittee

    estate = factory.SubFactory(EstateFactory)
    term_start = dt.date(2024, 1, 1)
    term_end = dt.date(2028, 12, 31)


class OwnersCommitteeMemberFactory(DjangoModelFactory):
    class Meta:
        model = OwnersCommitteeMember

    committee = factory.SubFactory(OwnersCommitteeFactory)
    name = factory.Sequence(lambda n: f"委员{n}")
    phone = factory.Sequence(lambda n: f"138{n:08d}")


class ResidentsCommitteeFactory(DjangoModelFactory):
    class Meta:
        model = ResidentsCommittee

    community = factory.SubFactory(CommunityFactory)
    term_start = dt.date(2022, 1, 1)
    term_end = dt.date(2026, 12, 31)


class JointMeetingFactory(DjangoModelFactory):
    class Meta:
        model = JointMeeting
        skip_postgeneration_save = True

    estate = factory.SubFactory(EstateFactory)
    held_on = dt.date(2025, 3, 12)
    topics = "小区停车难、垃圾清运不及时"
    decisions = "物业公司增设临时车位; 社区协调环卫加一次清运"

    @factory.post_generation
    def sides(self, create, extracted, **kwargs):
        """`sides=("owners", "property")`: one participant per side named; default all three."""
        if not create:
            return
        for side in JointMeetingParticipant.Side.values if extracted is None else extracted:
            JointMeetingParticipant.objects.create(meeting=self, side=side, name=f"{side}代表")


class FollowUpFactory(DjangoModelFactory):
    class Meta:
        model = FollowUpItem

    meeting = factory.SubFactory(JointMeetingFactory)
    content = "增设临时车位"
    owner = "物业公司"
    due_date = dt.date(2025, 4, 1)


class AssessmentStandardFactory(DjangoModelFactory):
    class Meta:
        model = AssessmentStandard

    street = factory.SubFactory(StreetFactory)
    year = 2025
    demonstration_threshold = Decimal("8")


class AssessmentItemFactory(DjangoModelFactory):
    class Meta:
        model = AssessmentItem

    street = factory.SubFactory(StreetFactory)
    year = 2025
    category = "党建引领"
    name = factory.Sequence(lambda n: f"考评内容{n}")
    max_points = Decimal("5")


class EstateAssessmentFactory(DjangoModelFactory):
    class Meta:
        model = EstateAssessment

    estate = factory.SubFactory(EstateFactory)
    year = 2025


def score(assessment: EstateAssessment, item: AssessmentItem, points: str) -> AssessmentScore:
    return AssessmentScore.objects.create(assessment=assessment, item=item, points=Decimal(points))


class SelfGovernanceGroupFactory(DjangoModelFactory):
    class Meta:
        model = SelfGovernanceGroup

    estate = factory.SubFactory(EstateFactory, has_property_service=False)
    name = factory.LazyAttribute(lambda o: f"{o.estate.name}居民自治小组")
    term_start = dt.date(2024, 3, 1)
    term_end = dt.date(2027, 2, 28)


class SelfGovernanceMeetingFactory(DjangoModelFactory):
    class Meta:
        model = SelfGovernanceMeeting

    group = factory.SubFactory(SelfGovernanceGroupFactory)
    held_on = dt.date(2025, 5, 6)
    topics = "楼道照明维修费用分摊"
    minutes = "经协商, 每户分摊 20 元"
    attendee_count = 12
