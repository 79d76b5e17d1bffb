"""Party members, 双报到 (members and units registering with communities), service posts,
三单 (demands with 微心愿, resources, projects) and the points ledger.

Foreign keys to users are PROTECT: accounts are anonymised in place, never deleted, so
registrations, steps and points keep pointing at the (pseudonymous) account.
"""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone

from backend.core import crypto, idcard
from backend.core.ledger import AppendOnlyModel, append_only

USER = settings.AUTH_USER_MODEL


class PrivacyConsent(models.Model):
    """A person agreeing to a version of the privacy notice for one purpose. Never edited."""

    class Purpose(models.TextChoices):
        PARTY_MEMBER = "party_member", "党员身份信息"

    user = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="privacy_consents", verbose_name="用户")
    purpose = models.CharField("用途", max_length=32, choices=Purpose.choices)
    version = models.CharField("隐私政策版本", max_length=32)
    given_at = models.DateTimeField("同意时间", default=timezone.now, editable=False)

    class Meta:
        verbose_name = "隐私同意记录"
        verbose_name_plural = "隐私同意记录"
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"{self.user} · {self.get_purpose_display()} · {self.version}"


class ConsentWithdrawal(models.Model):
    """A person withdrawing a consent (PIPL art. 15). Never edited; giving consent again is a new consent.

    What it ends is in `services.withdraw_consent`: for party_member, the 双报到 and the details
    stored under that consent.
    """

    user = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="consent_withdrawals", verbose_name="用户")
    purpose = models.CharField("用途", max_length=32, choices=PrivacyConsent.Purpose.choices)
    # The latest consent for the purpose when it was withdrawn; earlier ones had been superseded by it.
    consent = models.OneToOneField(
        PrivacyConsent, on_delete=models.PROTECT, related_name="withdrawal", verbose_name="撤回的同意"
    )
    withdrawn_at = models.DateTimeField("撤回时间", default=timezone.now, editable=False)

    class Meta:
        verbose_name = "撤回同意记录"
        verbose_name_plural = "撤回同意记录"
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"{self.user} · {self.get_purpose_display()} · 撤回"


class PartyMember(models.Model):
    """A party member's details. Sensitive: stored only with a consent (the FK cannot be empty).

    `organization` is the organisation of the person's approved registration, set by the services
    on approval and cleared when it ends: what the person named in a registration is a claim
    until staff approve it, and audiences, lists and reports that read `organization` must never
    see a claim. Null: an applicant, someone refused, or someone whose registration ended.
    """

    class Status(models.TextChoices):
        FULL = "full", "正式党员"
        PROBATIONARY = "probationary", "预备党员"

    user = models.OneToOneField(USER, on_delete=models.PROTECT, related_name="party_member", verbose_name="用户")
    organization = models.ForeignKey(
        "communities.PartyOrganization",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="party_members",
        verbose_name="组织关系所在党组织",
        help_text="报到审核通过时确定; 待审核、已驳回、已撤回或已注销时为空",
    )
    status = models.CharField("党员类别", max_length=16, choices=Status.choices)
    joined_on = models.DateField("入党日期", null=True, blank=True)
    employer = models.CharField("工作单位", max_length=150, blank=True)
    real_name = models.CharField("姓名", max_length=50)
    phone = models.CharField("联系电话", max_length=11)
    # The number itself only encrypted; the keyed hash finds duplicates; the mask is what anyone sees.
    id_number_encrypted = models.TextField("身份证号(密文)", blank=True, editable=False)
    id_number_hash = models.CharField("身份证号散列", max_length=64, null=True, blank=True, editable=False)
    id_number_masked = models.CharField("身份证号", max_length=18, blank=True, editable=False)
    consent = models.ForeignKey(PrivacyConsent, on_delete=models.PROTECT, related_name="+", verbose_name="隐私同意")
    created_at = models.DateTimeField("登记时间", auto_now_add=True)
    updated_at = models.DateTimeField("更新时间", auto_now=True)

    class Meta:
        verbose_name = "党员"
        verbose_name_plural = "党员"
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["id_number_hash"], name="partymember_unique_id_number"),
        ]

    def __str__(self) -> str:
        return self.real_name or str(self.user)

    def set_id_number(self, number: str) -> None:
        number = idcard.validate(number)
        self.id_number_encrypted = crypto.encrypt(number)
        self.id_number_hash = crypto.keyed_hash(number)
        self.id_number_masked = idcard.mask(number)


class MemberRegistration(models.Model):
    """双报到: an in-service member registering with the community where they live."""

    class Status(models.TextChoices):
        PENDING = "pending", "待审核"
        APPROVED = "approved", "已报到"
        REJECTED = "rejected", "已驳回"
        WITHDRAWN = "withdrawn", "已撤回"
        REVOKED = "revoked", "已注销"

    ACTIVE_STATUSES = (Status.PENDING, Status.APPROVED)
    ENDED_STATUSES = (Status.WITHDRAWN, Status.REVOKED)

    member = models.ForeignKey(PartyMember, on_delete=models.PROTECT, related_name="registrations", verbose_name="党员")
    community = models.ForeignKey(
        "communities.Community", on_delete=models.PROTECT, related_name="member_registrations", verbose_name="社区"
    )
    grid = models.ForeignKey(
        "communities.Grid",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="member_registrations",
        verbose_name="网格",
    )
    organization = models.ForeignKey(
        "communities.PartyOrganization",
        on_delete=models.PROTECT,
        related_name="member_registrations",
        verbose_name="组织关系所在党组织",
    )
    real_name = models.CharField("姓名", max_length=50)
    phone = models.CharField("联系电话", max_length=11)
    address = models.CharField("居住地址", max_length=200, blank=True)
    note = models.CharField("备注", max_length=500, blank=True)
    status = models.CharField("状态", max_length=16, choices=Status.choices, default=Status.PENDING)
    consent = models.ForeignKey(PrivacyConsent, on_delete=models.PROTECT, related_name="+", verbose_name="隐私同意")
    submitted_at = models.DateTimeField("提交时间", default=timezone.now, editable=False)
    decided_at = models.DateTimeField("审核时间", null=True, blank=True)
    decided_by = models.ForeignKey(
        USER, on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name="审核人"
    )
    reason = models.CharField("驳回或注销原因", max_length=500, blank=True)
    approved_at = models.DateTimeField("报到时间", null=True, blank=True, help_text="自审核通过之日起计为已报到")
    withdrawn_at = models.DateTimeField("撤回或注销时间", null=True, blank=True)

    class Meta:
        verbose_name = "党员双报到"
        verbose_name_plural = "党员双报到"
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["member"],
                condition=Q(status__in=["pending", "approved"]),
                name="memberregistration_one_active",
            ),
            models.CheckConstraint(
                condition=~Q(status="approved") | Q(approved_at__isnull=False),
                name="memberregistration_approved_has_date",
            ),
        ]
        indexes = [models.Index(fields=["community", "status"], name="memberreg_community_status")]

    def __str__(self) -> str:
        return f"{self.real_name} → {self.community}"


class RegistrationStep(AppendOnlyModel):
    """One change of a member registration's state, with who and when (append-only history)."""

    registration = models.ForeignKey(
        MemberRegistration, on_delete=models.PROTECT, related_name="steps", verbose_name="党员双报到"
    )
    from_status = models.CharField("原状态", max_length=16, choices=MemberRegistration.Status.choices, blank=True)
    to_status = models.CharField("新状态", max_length=16, choices=MemberRegistration.Status.choices)
    # Null: the system (a registration ended by the person withdrawing their consent is theirs).
    actor = models.ForeignKey(
        USER, on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name="操作人"
    )
    reason = models.CharField("原因", max_length=500, blank=True)
    at = models.DateTimeField("时间", default=timezone.now, editable=False)

    class Meta:
        verbose_name = "报到状态记录"
        verbose_name_plural = "报到状态记录"
        ordering = ["id"]
        triggers = append_only()

    def __str__(self) -> str:
        return f"{self.registration} · {self.from_status or '-'} → {self.to_status}"


class UnitRegistration(models.Model):
    """双报到: an employer's party organisation registering with a community it co-builds with."""

    class Status(models.TextChoices):
        PENDING = "pending", "待审核"
        APPROVED = "approved", "已报到"
        REJECTED = "rejected", "已驳回"
        WITHDRAWN = "withdrawn", "已撤回"

    ACTIVE_STATUSES = (Status.PENDING, Status.APPROVED)

    organization = models.ForeignKey(
        "communities.PartyOrganization",
        on_delete=models.PROTECT,
        related_name="unit_registrations",
        verbose_name="单位党组织",
    )
    community = models.ForeignKey(
        "communities.Community", on_delete=models.PROTECT, related_name="unit_registrations", verbose_name="共建社区"
    )
    filed_by = models.ForeignKey(
        USER, on_delete=models.PROTECT, related_name="unit_registrations_filed", verbose_name="申请人"
    )
    agreement_date = models.DateField("共建协议日期", null=True, blank=True)
    contact_name = models.CharField("联系人", max_length=50)
    contact_phone = models.CharField("联系电话", max_length=11)
    resources = models.TextField("可提供的资源", max_length=2000, blank=True)
    status = models.CharField("状态", max_length=16, choices=Status.choices, default=Status.PENDING)
    submitted_at = models.DateTimeField("提交时间", default=timezone.now, editable=False)
    decided_at = models.DateTimeField("审核时间", null=True, blank=True)
    decided_by = models.ForeignKey(
        USER, on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name="审核人"
    )
    reason = models.CharField("驳回原因", max_length=500, blank=True)
    approved_at = models.DateTimeField("报到时间", null=True, blank=True)
    withdrawn_at = models.DateTimeField("撤回时间", null=True, blank=True)
    # The liaison grant an approval (this tie's, or another standing tie of the filer's) made; None
    # when the filer held one given by hand, which ending this tie must leave alone.
    liaison_grant = models.ForeignKey(
        "accounts.RoleGrant", models.SET_NULL, null=True, blank=True, related_name="+", editable=False
    )

    class Meta:
        verbose_name = "单位双报到"
        verbose_name_plural = "单位双报到"
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "community"],
                condition=Q(status__in=["pending", "approved"]),
                name="unitregistration_one_active",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.organization} → {self.community}"


class ServicePost(models.Model):
    """服务岗位: a standing duty a community defines, held by registered members."""

    community = models.ForeignKey(
        "communities.Community", on_delete=models.PROTECT, related_name="service_posts", verbose_name="社区"
    )
    name = models.CharField("岗位名称", max_length=100, help_text="如 楼栋长、文明劝导、政策宣讲、环境卫生")
    description = models.TextField("岗位职责", max_length=2000, blank=True)
    capacity = models.PositiveIntegerField("名额", default=1, validators=[MinValueValidator(1)])
    is_active = models.BooleanField("启用", default=True)
    created_at = models.DateTimeField("创建时间", auto_now_add=True)

    class Meta:
        verbose_name = "服务岗位"
        verbose_name_plural = "服务岗位"
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["community", "name"], name="servicepost_unique_name"),
            models.CheckConstraint(condition=Q(capacity__gte=1), name="servicepost_capacity_positive"),
        ]

    def __str__(self) -> str:
        return self.name


class PostAssignment(models.Model):
    """A member holding a post from `claimed_at` until `left_at` (history kept)."""

    post = models.ForeignKey(ServicePost, on_delete=models.PROTECT, related_name="assignments", verbose_name="岗位")
    member = models.ForeignKey(
        PartyMember, on_delete=models.PROTECT, related_name="post_assignments", verbose_name="党员"
    )
    claimed_at = models.DateTimeField("认领时间", default=timezone.now)
    left_at = models.DateTimeField("离岗时间", null=True, blank=True)

    class Meta:
        verbose_name = "岗位认领"
        verbose_name_plural = "岗位认领"
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(
                fields=["post", "member"], condition=Q(left_at__isnull=True), name="postassignment_one_active"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.member} · {self.post}"


class Demand(models.Model):
    """需求清单: what a resident needs (微心愿 for a resident in need), and its way to done."""

    class Kind(models.TextChoices):
        WISH = "wish", "微心愿"
        SERVICE = "service", "服务需求"
        PROBLEM = "problem", "问题反映"

    class Status(models.TextChoices):
        OPEN = "open", "待认领"
        CLAIMED = "claimed", "已认领"
        DONE = "done", "已完成"
        CONFIRMED = "confirmed", "已确认"
        CANCELLED = "cancelled", "已取消"

    kind = models.CharField("类型", max_length=16, choices=Kind.choices)
    community = models.ForeignKey(
        "communities.Community", on_delete=models.PROTECT, related_name="demands", verbose_name="社区"
    )
    grid = models.ForeignKey(
        "communities.Grid", on_delete=models.PROTECT, null=True, blank=True, related_name="demands", verbose_name="网格"
    )
    estate = models.ForeignKey(
        "communities.Estate",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="demands",
        verbose_name="小区",
    )
    title = models.CharField("标题", max_length=100)
    description = models.TextField("内容", max_length=2000, blank=True)
    contact_name = models.CharField("联系人", max_length=50, blank=True)
    contact_phone = models.CharField("联系电话", max_length=11, blank=True)
    photos = models.ManyToManyField("core.Upload", blank=True, related_name="+", verbose_name="照片")
    requester = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="demands", verbose_name="提出人")
    # A phone's retry carries the same id and gets the first demand back (null: the console, imports).
    client_id = models.UUIDField("客户端请求号", null=True, blank=True, editable=False)
    status = models.CharField("状态", max_length=16, choices=Status.choices, default=Status.OPEN)
    # The detail view sets its history here, read in one query (selectors.demand_steps); not a column.
    ordered_steps: list[DemandStep]
    claimed_by = models.ForeignKey(
        USER, on_delete=models.PROTECT, null=True, blank=True, related_name="claimed_demands", verbose_name="认领人"
    )
    claimed_organization = models.ForeignKey(
        "communities.PartyOrganization",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="claimed_demands",
        verbose_name="认领单位",
    )
    claimed_at = models.DateTimeField("认领时间", null=True, blank=True)
    done_at = models.DateTimeField("完成时间", null=True, blank=True)
    confirmed_at = models.DateTimeField("确认时间", null=True, blank=True)
    cancelled_at = models.DateTimeField("取消时间", null=True, blank=True)
    created_at = models.DateTimeField("提交时间", default=timezone.now, editable=False)

    class Meta:
        verbose_name = "需求清单"
        verbose_name_plural = "需求清单"
        ordering = ["-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(status="open") | Q(status="cancelled") | Q(claimed_at__isnull=False),
                name="demand_claimed_has_claim",
            ),
            models.UniqueConstraint(
                fields=["requester", "client_id"],
                condition=Q(client_id__isnull=False),
                name="demand_client_id_once",
            ),
        ]
        indexes = [
            models.Index(fields=["community", "status"], name="demand_community_status"),
            models.Index(fields=["status", "done_at"], name="demand_status_done"),
        ]

    def __str__(self) -> str:
        return self.title


class DemandStep(AppendOnlyModel):
    """One step of a demand, stamped with who and when (append-only history)."""

    class Action(models.TextChoices):
        CREATED = "created", "提交"
        CLAIMED = "claimed", "认领"
        ASSIGNED = "assigned", "派单"
        DONE = "done", "完成"
        CONFIRMED = "confirmed", "确认"
        CANCELLED = "cancelled", "取消"

    demand = models.ForeignKey(Demand, on_delete=models.PROTECT, related_name="steps", verbose_name="需求")
    action = models.CharField("操作", max_length=16, choices=Action.choices)
    from_status = models.CharField("原状态", max_length=16, blank=True)
    to_status = models.CharField("新状态", max_length=16)
    # Null: the system (auto-confirmation after the waiting period).
    actor = models.ForeignKey(
        USER, on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name="操作人"
    )
    assignee = models.ForeignKey(
        USER, on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name="承接人"
    )
    note = models.TextField("说明", max_length=2000, blank=True)
    evidence = models.ManyToManyField("core.Upload", blank=True, related_name="+", verbose_name="佐证材料")
    at = models.DateTimeField("时间", default=timezone.now, editable=False)

    class Meta:
        verbose_name = "需求处理记录"
        verbose_name_plural = "需求处理记录"
        ordering = ["id"]
        triggers = append_only()

    def __str__(self) -> str:
        return f"{self.demand} · {self.get_action_display()}"


class Resource(models.Model):
    """资源清单: what a unit or a member offers a community."""

    class Category(models.TextChoices):
        VENUE = "venue", "场地"
        SKILL = "skill", "技能特长"
        GOODS = "goods", "物资"
        FUNDS = "funds", "资金"
        SERVICE = "service", "服务"
        OTHER = "other", "其他"

    community = models.ForeignKey(
        "communities.Community", on_delete=models.PROTECT, related_name="resources", verbose_name="社区"
    )
    title = models.CharField("名称", max_length=100)
    category = models.CharField("类别", max_length=16, choices=Category.choices, default=Category.OTHER)
    description = models.TextField("说明", max_length=2000, blank=True)
    offered_by = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="resources", verbose_name="提供人")
    organization = models.ForeignKey(
        "communities.PartyOrganization",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="resources",
        verbose_name="提供单位",
    )
    is_active = models.BooleanField("有效", default=True)
    created_at = models.DateTimeField("登记时间", auto_now_add=True)
    updated_at = models.DateTimeField("更新时间", auto_now=True)

    class Meta:
        verbose_name = "资源清单"
        verbose_name_plural = "资源清单"
        ordering = ["-id"]

    def __str__(self) -> str:
        return self.title


class ServiceProject(models.Model):
    """项目清单: a project matching demands with resources, with an owner."""

    class Status(models.TextChoices):
        PLANNED = "planned", "筹备中"
        ONGOING = "ongoing", "进行中"
        FINISHED = "finished", "已完成"

    community = models.ForeignKey(
        "communities.Community", on_delete=models.PROTECT, related_name="service_projects", verbose_name="社区"
    )
    name = models.CharField("项目名称", max_length=100)
    description = models.TextField("项目内容", max_length=4000, blank=True)
    owner = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="owned_projects", verbose_name="负责人")
    demands = models.ManyToManyField(Demand, blank=True, related_name="projects", verbose_name="需求")
    resources = models.ManyToManyField(Resource, blank=True, related_name="projects", verbose_name="资源")
    status = models.CharField("状态", max_length=16, choices=Status.choices, default=Status.PLANNED)
    starts_on = models.DateField("开始日期", null=True, blank=True)
    ends_on = models.DateField("结束日期", null=True, blank=True)
    created_by = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+", verbose_name="创建人")
    created_at = models.DateTimeField("创建时间", auto_now_add=True)
    updated_at = models.DateTimeField("更新时间", auto_now=True)

    class Meta:
        verbose_name = "项目清单"
        verbose_name_plural = "项目清单"
        ordering = ["-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_on__isnull=True) | Q(starts_on__isnull=True) | Q(ends_on__gte=models.F("starts_on")),
                name="serviceproject_dates_in_order",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class PointsRule(models.Model):
    """How many points an event is worth, capped per member per calendar year.

    A street's rule overrides the global rule of the same code for members of that street.
    """

    code = models.SlugField("规则代码", max_length=64, help_text="如 party_day、volunteer_hour、demand_completed")
    name = models.CharField("名称", max_length=100)
    points = models.IntegerField("分值", help_text="每次计分; 负数为扣分")
    yearly_cap = models.PositiveIntegerField(
        "年度上限", null=True, blank=True, help_text="每名党员每年最多计分; 空为不限"
    )
    is_active = models.BooleanField("启用", default=True)
    street = models.ForeignKey(
        "communities.Street",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="points_rules",
        verbose_name="街道",
        help_text="空: 全局默认规则",
    )
    updated_at = models.DateTimeField("更新时间", auto_now=True)

    class Meta:
        verbose_name = "积分规则"
        verbose_name_plural = "积分规则"
        ordering = ["street_id", "code"]
        constraints = [
            models.UniqueConstraint(fields=["code", "street"], name="pointsrule_unique_code_street"),
            models.UniqueConstraint(fields=["code"], condition=Q(street__isnull=True), name="pointsrule_unique_global"),
            models.CheckConstraint(condition=~Q(points=0), name="pointsrule_points_nonzero"),
        ]

    def __str__(self) -> str:
        return f"{self.name}({self.points:+d})"


class PointsEntry(AppendOnlyModel):
    """积分: one line of the append-only ledger. Totals are sums over it, per calendar year."""

    append_only_hint = "add a correction instead"

    class Kind(models.TextChoices):
        AWARD = "award", "计分"
        CORRECTION = "correction", "更正"

    user = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="points_entries", verbose_name="党员")
    kind = models.CharField("类型", max_length=16, choices=Kind.choices, default=Kind.AWARD)
    rule = models.ForeignKey(
        PointsRule, on_delete=models.PROTECT, null=True, blank=True, related_name="entries", verbose_name="规则"
    )
    rule_code = models.CharField("规则代码", max_length=64, blank=True)
    source = models.CharField("来源", max_length=100, help_text="如 activity:12、demand:3")
    points = models.IntegerField("分值")
    requested_points = models.IntegerField("应计分值", help_text="封顶或保底前的分值; 与分值之差为被截去的部分")
    year = models.PositiveSmallIntegerField("年度")
    reason = models.CharField("原因", max_length=500, blank=True)
    created_by = models.ForeignKey(
        USER, on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name="操作人"
    )
    created_at = models.DateTimeField("记录时间", default=timezone.now, editable=False)

    class Meta:
        verbose_name = "积分记录"
        verbose_name_plural = "积分记录"
        ordering = ["-id"]
        constraints = [
            # One award per event and rule: a retried or replayed award cannot count twice.
            models.UniqueConstraint(
                fields=["user", "rule_code", "source"], condition=Q(kind="award"), name="pointsentry_award_once"
            ),
        ]
        indexes = [models.Index(fields=["user", "year"], name="pointsentry_user_year")]
        triggers = append_only()

    def __str__(self) -> str:
        return f"{self.user} {self.points:+d} ({self.source})"

    @property
    def clamped(self) -> int:
        return self.requested_points - self.points
