"""红色物业: property companies, each estate's governance, committees, 三方联动, assessments, self-governance.

The map's `Estate` stays free of these: an estate's governance is its own row here (one to one),
and an estate without one simply has nothing recorded yet (no company, no organisation, not a
demonstration estate).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q

from backend.core.credit_code import validate_credit_code
from backend.core.phones import phone_validator

YEAR_VALIDATORS = [MinValueValidator(2000), MaxValueValidator(2100)]
# Field kwargs splatted into each points field (the stubs type a bare dict literal by its values).
POINTS: dict[str, Any] = {"max_digits": 5, "decimal_places": 1}


def owners_committee_threshold() -> int:
    return int(settings.OWNERS_COMMITTEE_HOUSEHOLDS)


class PropertyCompany(models.Model):
    """A property service company, on the register of the street whose admins manage it."""

    name = models.CharField("名称", max_length=150)
    credit_code = models.CharField(
        "统一社会信用代码", max_length=18, unique=True, validators=[validate_credit_code], help_text="18位, GB 32100"
    )
    street = models.ForeignKey(
        "communities.Street", on_delete=models.PROTECT, related_name="property_companies", verbose_name="所属街道"
    )
    address = models.CharField("地址", max_length=200, blank=True)
    contact_name = models.CharField("联系人", max_length=50, blank=True)
    contact_phone = models.CharField("联系电话", max_length=20, blank=True, validators=[phone_validator])
    party_organization = models.ForeignKey(
        "communities.PartyOrganization",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="property_companies",
        verbose_name="企业党组织",
    )
    party_member_count = models.PositiveIntegerField("员工中党员人数", default=0)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField("创建时间", auto_now_add=True)
    updated_at = models.DateTimeField("更新时间", auto_now=True)

    class Meta:
        verbose_name = "物业公司"
        verbose_name_plural = "物业公司"
        ordering = ["id"]

    def __str__(self) -> str:
        return self.name

    @property
    def has_party_organization(self) -> bool:
        return self.party_organization_id is not None


class EstateGovernance(models.Model):
    """How an estate is governed: its property company (none: 无物业小区), party organisation, status.

    `property_company` and the map's `Estate.has_property_service` are kept in agreement by the
    services here: recording a company marks the estate as served; removing it marks it
    无物业 unless the caller says the estate is still served (by a company not on the register).
    """

    estate = models.OneToOneField(
        "communities.Estate", on_delete=models.CASCADE, related_name="governance", verbose_name="小区"
    )
    property_company = models.ForeignKey(
        PropertyCompany,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="governed_estates",
        verbose_name="物业公司",
    )
    party_organization = models.ForeignKey(
        "communities.PartyOrganization",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="governed_estates",
        verbose_name="小区党组织",
    )
    owners_committee_required_override = models.BooleanField(
        "须组建业委会(人工认定)",
        null=True,
        blank=True,
        help_text="空: 按户数标准 (OWNERS_COMMITTEE_HOUSEHOLDS) 判断",
    )
    is_red_property = models.BooleanField("红色物业示范小区", default=False)
    red_property_since = models.DateField("命名日期", null=True, blank=True)
    notes = models.TextField("备注", max_length=2000, blank=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField("创建时间", auto_now_add=True)
    updated_at = models.DateTimeField("更新时间", auto_now=True)

    class Meta:
        verbose_name = "小区治理"
        verbose_name_plural = "小区治理"
        ordering = ["estate_id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(is_red_property=True, red_property_since__isnull=False)
                | Q(is_red_property=False, red_property_since__isnull=True),
                name="governance_red_property_has_date",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.estate}治理"

    @property
    def owners_committee_required(self) -> bool:
        if self.owners_committee_required_override is not None:
            return self.owners_committee_required_override
        return self.estate.households >= owners_committee_threshold()


class CommitteeMember(models.Model):
    """A member of a committee or group: name, role, phone, and whether they also serve in the party organisation."""

    name = models.CharField("姓名", max_length=50)
    phone = models.CharField("联系电话", max_length=20, blank=True, validators=[phone_validator])
    is_party_member = models.BooleanField("党员", default=False)
    also_in_party_organisation = models.BooleanField("交叉任职", default=False, help_text="同时是小区(社区)党组织成员")

    class Meta:
        abstract = True
        ordering = ["id"]

    def __str__(self) -> str:
        return self.name


class CommitteeRole(models.TextChoices):
    DIRECTOR = "director", "主任"
    DEPUTY_DIRECTOR = "deputy_director", "副主任"
    MEMBER = "member", "委员"


class Term(models.Model):
    term_start = models.DateField("任期开始")
    term_end = models.DateField("任期结束")
    notes = models.TextField("备注", max_length=2000, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField("创建时间", auto_now_add=True)
    updated_at = models.DateTimeField("更新时间", auto_now=True)

    class Meta:
        abstract = True

    def is_current(self, today: date) -> bool:
        return self.term_start <= today <= self.term_end


class OwnersCommittee(Term):
    """业委会: elected by an estate's owners for a term."""

    estate = models.ForeignKey(
        "communities.Estate", on_delete=models.PROTECT, related_name="owners_committees", verbose_name="小区"
    )

    class Meta:
        verbose_name = "业委会"
        verbose_name_plural = "业委会"
        ordering = ["-term_start", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(term_end__gt=models.F("term_start")), name="owners_committee_term"),
        ]
        indexes = [models.Index(fields=["estate", "term_start", "term_end"], name="owners_committee_term_idx")]

    def __str__(self) -> str:
        return f"{self.estate}业委会({self.term_start:%Y}-{self.term_end:%Y})"


class OwnersCommitteeMember(CommitteeMember):
    committee = models.ForeignKey(OwnersCommittee, on_delete=models.CASCADE, related_name="members")
    role = models.CharField("职务", max_length=16, choices=CommitteeRole.choices, default=CommitteeRole.MEMBER)

    class Meta(CommitteeMember.Meta):
        verbose_name = "业委会成员"
        verbose_name_plural = "业委会成员"
        constraints = [
            models.UniqueConstraint(
                fields=["committee"], condition=Q(role="director"), name="owners_committee_one_director"
            ),
        ]


class ResidentsCommittee(Term):
    """居委会: the community's residents' committee for a term."""

    community = models.ForeignKey(
        "communities.Community", on_delete=models.PROTECT, related_name="residents_committees", verbose_name="社区"
    )

    class Meta:
        verbose_name = "居委会"
        verbose_name_plural = "居委会"
        ordering = ["-term_start", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(term_end__gt=models.F("term_start")), name="residents_committee_term"),
        ]

    def __str__(self) -> str:
        return f"{self.community}居委会({self.term_start:%Y}-{self.term_end:%Y})"


class ResidentsCommitteeMember(CommitteeMember):
    committee = models.ForeignKey(ResidentsCommittee, on_delete=models.CASCADE, related_name="members")
    role = models.CharField("职务", max_length=16, choices=CommitteeRole.choices, default=CommitteeRole.MEMBER)

    class Meta(CommitteeMember.Meta):
        verbose_name = "居委会成员"
        verbose_name_plural = "居委会成员"
        constraints = [
            models.UniqueConstraint(
                fields=["committee"], condition=Q(role="director"), name="residents_committee_one_director"
            ),
        ]


class JointMeeting(models.Model):
    """三方联动: owners (or the 业委会), the property company and the community party organisation meet.

    It counts towards the mechanism only when all three sides took part (`counts`); querysets
    carry the same as an annotation (`selectors.with_counts`) so lists and reports filter on it.
    """

    estate = models.ForeignKey(
        "communities.Estate", on_delete=models.PROTECT, related_name="joint_meetings", verbose_name="小区"
    )
    held_on = models.DateField("会议日期")
    place = models.CharField("地点", max_length=200, blank=True)
    topics = models.TextField("议题", max_length=5000)
    decisions = models.TextField("议定事项", max_length=5000, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField("创建时间", auto_now_add=True)
    updated_at = models.DateTimeField("更新时间", auto_now=True)

    class Meta:
        verbose_name = "三方联动会议"
        verbose_name_plural = "三方联动会议"
        ordering = ["-held_on", "-id"]
        indexes = [models.Index(fields=["estate", "held_on"], name="joint_meeting_estate_date")]

    def __str__(self) -> str:
        return f"{self.estate} {self.held_on:%Y-%m-%d} 三方联动"

    @property
    def counts(self) -> bool:
        annotated = self.__dict__.get("_counts")
        if annotated is not None:
            return bool(annotated)
        sides = {p.side for p in self.participants.all()}
        return sides >= set(JointMeetingParticipant.Side.values)

    @counts.setter
    def counts(self, value: bool) -> None:
        # Set by the queryset annotation of the same name.
        self.__dict__["_counts"] = value


class JointMeetingParticipant(models.Model):
    class Side(models.TextChoices):
        OWNERS = "owners", "业主/业委会"
        PROPERTY = "property", "物业公司"
        PARTY = "party", "社区党组织"

    meeting = models.ForeignKey(JointMeeting, on_delete=models.CASCADE, related_name="participants")
    side = models.CharField("方", max_length=16, choices=Side.choices)
    name = models.CharField("姓名", max_length=50)
    title = models.CharField("单位及职务", max_length=100, blank=True)

    class Meta:
        verbose_name = "参会人员"
        verbose_name_plural = "参会人员"
        ordering = ["id"]
        indexes = [models.Index(fields=["meeting", "side"], name="joint_participant_side")]

    def __str__(self) -> str:
        return f"{self.get_side_display()} {self.name}"


class FollowUpItem(models.Model):
    """A task a joint meeting settled on: who does it, by when, and when it was done."""

    meeting = models.ForeignKey(JointMeeting, on_delete=models.CASCADE, related_name="follow_ups")
    content = models.CharField("事项", max_length=500)
    owner = models.CharField("责任人(单位)", max_length=100)
    due_date = models.DateField("完成期限")
    done_on = models.DateField("完成日期", null=True, blank=True)
    created_at = models.DateTimeField("创建时间", auto_now_add=True)
    updated_at = models.DateTimeField("更新时间", auto_now=True)

    class Meta:
        verbose_name = "跟进事项"
        verbose_name_plural = "跟进事项"
        ordering = ["due_date", "id"]
        indexes = [models.Index(fields=["done_on", "due_date"], name="follow_up_open_due")]

    def __str__(self) -> str:
        return self.content[:40]

    def is_overdue(self, today: date) -> bool:
        return self.done_on is None and self.due_date < today


class AssessmentStandard(models.Model):
    """The street's line for a year: an estate scoring at least this is a demonstration estate."""

    street = models.ForeignKey(
        "communities.Street", on_delete=models.PROTECT, related_name="red_property_standards", verbose_name="街道"
    )
    year = models.PositiveSmallIntegerField("年度", validators=YEAR_VALIDATORS)
    demonstration_threshold = models.DecimalField(
        "示范小区分数线", **POINTS, validators=[MinValueValidator(0)], help_text="总分达到此分即为红色物业示范小区"
    )
    created_at = models.DateTimeField("创建时间", auto_now_add=True)
    updated_at = models.DateTimeField("更新时间", auto_now=True)

    class Meta:
        verbose_name = "红色物业考评标准"
        verbose_name_plural = "红色物业考评标准"
        ordering = ["-year", "street_id"]
        constraints = [models.UniqueConstraint(fields=["street", "year"], name="assessment_standard_street_year")]

    def __str__(self) -> str:
        return f"{self.street} {self.year}年"


class AssessmentItem(models.Model):
    """One line of a street's scoring sheet for a year, e.g. 党建引领 / 小区成立党组织 / 5 points."""

    street = models.ForeignKey(
        "communities.Street", on_delete=models.PROTECT, related_name="red_property_items", verbose_name="街道"
    )
    year = models.PositiveSmallIntegerField("年度", validators=YEAR_VALIDATORS)
    category = models.CharField("类别", max_length=50, help_text="如 党建引领")
    name = models.CharField("考评内容", max_length=200)
    max_points = models.DecimalField("满分", **POINTS, validators=[MinValueValidator(0)])
    guidance = models.TextField(
        "评分标准", max_length=2000, blank=True, help_text="如 党员人数 1-2 人得 1 分, 3-5 人得 3 分"
    )
    position = models.PositiveSmallIntegerField("排序", default=0)
    created_at = models.DateTimeField("创建时间", auto_now_add=True)
    updated_at = models.DateTimeField("更新时间", auto_now=True)

    class Meta:
        verbose_name = "考评项目"
        verbose_name_plural = "考评项目"
        ordering = ["street_id", "-year", "position", "id"]
        constraints = [
            models.UniqueConstraint(fields=["street", "year", "category", "name"], name="assessment_item_unique"),
            models.CheckConstraint(condition=Q(max_points__gt=0), name="assessment_item_positive_max"),
        ]

    def __str__(self) -> str:
        return f"{self.category}·{self.name}"


class EstateAssessment(models.Model):
    """An estate's red-property scoring for a year. Its total is the sum of its score rows."""

    estate = models.ForeignKey(
        "communities.Estate", on_delete=models.PROTECT, related_name="red_property_assessments", verbose_name="小区"
    )
    year = models.PositiveSmallIntegerField("年度", validators=YEAR_VALIDATORS)
    notes = models.TextField("考评意见", max_length=2000, blank=True)
    assessed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField("创建时间", auto_now_add=True)
    updated_at = models.DateTimeField("更新时间", auto_now=True)

    class Meta:
        verbose_name = "红色物业考评"
        verbose_name_plural = "红色物业考评"
        ordering = ["-year", "estate_id"]
        constraints = [models.UniqueConstraint(fields=["estate", "year"], name="estate_assessment_unique_year")]

    def __str__(self) -> str:
        return f"{self.estate} {self.year}年考评"


class AssessmentScore(models.Model):
    assessment = models.ForeignKey(EstateAssessment, on_delete=models.CASCADE, related_name="scores")
    item = models.ForeignKey(AssessmentItem, on_delete=models.PROTECT, related_name="scores", verbose_name="考评项目")
    points = models.DecimalField("得分", **POINTS, validators=[MinValueValidator(0)])
    note = models.CharField("说明", max_length=200, blank=True)

    class Meta:
        verbose_name = "考评得分"
        verbose_name_plural = "考评得分"
        ordering = ["item__position", "item_id"]
        constraints = [
            models.UniqueConstraint(fields=["assessment", "item"], name="assessment_score_unique_item"),
            models.CheckConstraint(condition=Q(points__gte=0), name="assessment_score_not_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.item}: {self.points}"


class SelfGovernanceGroup(Term):
    """The residents' self-governance group of an estate without property service (无物业小区自治)."""

    estate = models.ForeignKey(
        "communities.Estate", on_delete=models.PROTECT, related_name="self_governance_groups", verbose_name="小区"
    )
    name = models.CharField("名称", max_length=100, help_text="如 天润小区居民自治小组")

    class Meta:
        verbose_name = "居民自治小组"
        verbose_name_plural = "居民自治小组"
        ordering = ["-term_start", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(term_end__gt=models.F("term_start")), name="self_governance_term"),
        ]

    def __str__(self) -> str:
        return self.name


class SelfGovernanceMember(CommitteeMember):
    class Role(models.TextChoices):
        LEADER = "leader", "组长"
        DEPUTY_LEADER = "deputy_leader", "副组长"
        MEMBER = "member", "组员"

    group = models.ForeignKey(SelfGovernanceGroup, on_delete=models.CASCADE, related_name="members")
    role = models.CharField("职务", max_length=16, choices=Role.choices, default=Role.MEMBER)

    class Meta(CommitteeMember.Meta):
        verbose_name = "自治小组成员"
        verbose_name_plural = "自治小组成员"
        constraints = [
            models.UniqueConstraint(fields=["group"], condition=Q(role="leader"), name="self_governance_one_leader"),
        ]


class SelfGovernanceMeeting(models.Model):
    group = models.ForeignKey(
        SelfGovernanceGroup, on_delete=models.CASCADE, related_name="meetings", verbose_name="自治小组"
    )
    held_on = models.DateField("会议日期")
    topics = models.TextField("议题", max_length=5000)
    minutes = models.TextField("会议纪要", max_length=20000, blank=True)
    attendee_count = models.PositiveIntegerField("参会人数", default=0)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField("创建时间", auto_now_add=True)
    updated_at = models.DateTimeField("更新时间", auto_now=True)

    class Meta:
        verbose_name = "自治小组会议"
        verbose_name_plural = "自治小组会议"
        ordering = ["-held_on", "-id"]

    def __str__(self) -> str:
        return f"{self.group} {self.held_on:%Y-%m-%d}"
