"""Activities: publishing, enrolment with a waiting list, check-in and check-out by phone, leave
and minutes for branch meetings, photos.

Foreign keys to users are PROTECT: accounts are anonymised in place, never deleted, so enrolments
and the attendance ledger keep pointing at the (pseudonymous) account. Check-ins keep the
distance from the venue and whether it was inside the geofence, never the position itself.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.utils import timezone

from backend.communities.models import RADIUS_MAX_M, RADIUS_MIN_M, latitude_field, longitude_field, radius_field
from backend.core.ledger import AppendOnlyModel, append_only

USER = settings.AUTH_USER_MODEL


def checkin_opens(starts_at: datetime, before_minutes: int | None) -> datetime:
    """When check-in opens: `before_minutes` before the start, the system's default when unset. Also
    for rows read without a model instance (the community's list)."""
    minutes = settings.CHECKIN_OPENS_BEFORE_MINUTES if before_minutes is None else before_minutes
    return starts_at - timedelta(minutes=minutes)


def checkout_closes(ends_at: datetime, after_minutes: int | None) -> datetime:
    """When check-out closes: `after_minutes` after the end, the system's default when unset."""
    minutes = settings.CHECKOUT_CLOSES_AFTER_MINUTES if after_minutes is None else after_minutes
    return ends_at + timedelta(minutes=minutes)


class Activity(models.Model):
    class Category(models.TextChoices):
        PARTY_DAY = "party_day", "主题党日"
        THREE_MEETINGS_ONE_LESSON = "three_meetings_one_lesson", "三会一课"
        PARTY_LESSON = "party_lesson", "党课"
        VOLUNTEER_SERVICE = "volunteer_service", "志愿服务"
        STUDY = "study", "学习"
        CULTURE_SPORTS = "culture_sports", "文体"
        OTHER = "other", "其他"

    # Branch work: members ask for leave, absences are listed, staff keep minutes.
    MEETING_CATEGORIES = (Category.THREE_MEETINGS_ONE_LESSON, Category.PARTY_LESSON)
    # Their audience is known (the community's or the branch's members): whoever of it comes to the
    # door checks in, without signing up first. Other categories ask for enrolment unless told not to.
    OPEN_DOOR_CATEGORIES = (Category.PARTY_DAY, Category.THREE_MEETINGS_ONE_LESSON)

    class Status(models.TextChoices):
        DRAFT = "draft", "草稿"
        PUBLISHED = "published", "已发布"
        FINISHED = "finished", "已结束"
        CANCELLED = "cancelled", "已取消"

    class Audience(models.TextChoices):
        COMMUNITY = "community", "本社区居民"
        PARTY_MEMBERS = "party_members", "本社区党员"
        BRANCH = "branch", "党支部党员"
        VOLUNTEERS = "volunteers", "志愿者"
        PUBLIC = "public", "所有人"

    community = models.ForeignKey(
        "communities.Community", on_delete=models.PROTECT, related_name="activities", verbose_name="社区"
    )
    organiser = models.ForeignKey(
        USER, on_delete=models.PROTECT, related_name="organised_activities", verbose_name="组织人"
    )
    title = models.CharField("标题", max_length=100)
    category = models.CharField("类别", max_length=32, choices=Category.choices)
    description = models.TextField("活动内容", max_length=5000, blank=True)
    starts_at = models.DateTimeField("开始时间")
    ends_at = models.DateTimeField("结束时间")
    venue = models.ForeignKey(
        "communities.Place",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="activities",
        verbose_name="活动场所",
        help_text="选择本社区已保存的场所: 地点、坐标和签到范围随之填入",
    )
    place = models.CharField("地点", max_length=200)
    # GCJ-02, as picked on a Chinese map and as wx.getLocation({type: 'gcj02'}) reports.
    latitude = latitude_field("纬度(GCJ-02)")
    longitude = longitude_field("经度(GCJ-02)")
    radius_m = radius_field("签到范围(米)")
    capacity = models.PositiveIntegerField(
        "名额", null=True, blank=True, validators=[MinValueValidator(1)], help_text="空: 不限人数"
    )
    enrollment_required = models.BooleanField("须报名", default=True, help_text="否: 面向对象中的任何人都可直接签到")
    enrollment_deadline = models.DateTimeField("报名截止", null=True, blank=True, help_text="空: 报名至活动结束")
    audience = models.CharField("面向对象", max_length=16, choices=Audience.choices, default=Audience.COMMUNITY)
    branch = models.ForeignKey(
        "communities.PartyOrganization",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="activities",
        verbose_name="党支部",
        help_text="面向对象为党支部时必填",
    )
    counts_as_service = models.BooleanField("计入志愿服务时长", default=False)
    points = models.PositiveSmallIntegerField(
        "参加积分", default=0, help_text="0: 不计积分; 否则党员参加后按本类别积分规则(含年度上限)计入积分"
    )
    brand = models.ForeignKey(
        "brands.Brand", on_delete=models.SET_NULL, null=True, blank=True, related_name="activities", verbose_name="品牌"
    )
    cover = models.ForeignKey(
        "core.Upload", on_delete=models.SET_NULL, null=True, blank=True, related_name="+", verbose_name="封面图"
    )
    checkin_opens_before_minutes = models.PositiveIntegerField(
        "提前签到(分钟)", null=True, blank=True, validators=[MaxValueValidator(24 * 60)], help_text="空: 使用系统默认"
    )
    checkout_closes_after_minutes = models.PositiveIntegerField(
        "结束后可签退(分钟)",
        null=True,
        blank=True,
        validators=[MaxValueValidator(24 * 60)],
        help_text="空: 使用系统默认",
    )
    status = models.CharField("状态", max_length=16, choices=Status.choices, default=Status.DRAFT)
    published_at = models.DateTimeField("发布时间", null=True, blank=True)
    finished_at = models.DateTimeField("结束时间(归档)", null=True, blank=True)
    cancelled_at = models.DateTimeField("取消时间", null=True, blank=True)
    cancel_reason = models.CharField("取消原因", max_length=500, blank=True)
    created_at = models.DateTimeField("创建时间", default=timezone.now, editable=False)
    updated_at = models.DateTimeField("更新时间", auto_now=True)

    class Meta:
        verbose_name = "活动"
        verbose_name_plural = "活动"
        ordering = ["-starts_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_at__gt=F("starts_at")),
                name="activity_ends_after_start",
                violation_error_message="结束时间须晚于开始时间",
            ),
            models.CheckConstraint(
                condition=~Q(audience="branch") | Q(branch__isnull=False),
                name="activity_branch_audience_has_branch",
                violation_error_message="面向党支部的活动须指定党支部",
            ),
            models.CheckConstraint(
                condition=Q(radius_m__gte=RADIUS_MIN_M, radius_m__lte=RADIUS_MAX_M), name="activity_radius_in_range"
            ),
            models.CheckConstraint(
                condition=Q(capacity__isnull=True) | Q(capacity__gte=1), name="activity_capacity_pos"
            ),
            models.CheckConstraint(
                condition=~Q(status="cancelled") | ~Q(cancel_reason=""), name="activity_cancelled_has_reason"
            ),
        ]
        indexes = [
            models.Index(fields=["community", "status", "starts_at"], name="activity_community_status"),
            models.Index(fields=["status", "ends_at"], name="activity_status_ends"),
        ]

    # Not columns: the caller's standing, set on the row selectors.activity_for_check_in reads.
    caller_id: int
    caller_enrollment: str | None
    caller_checked_in: bool
    caller_active: bool

    def __str__(self) -> str:
        return self.title

    @property
    def is_meeting(self) -> bool:
        return self.category in self.MEETING_CATEGORIES

    def checkin_opens_at(self) -> datetime:
        return checkin_opens(self.starts_at, self.checkin_opens_before_minutes)

    def checkout_closes_at(self) -> datetime:
        return checkout_closes(self.ends_at, self.checkout_closes_after_minutes)

    def enrollment_closes_at(self) -> datetime:
        return self.enrollment_deadline or self.ends_at

    def is_open_for_enrollment(self, *, now: datetime) -> bool:
        return self.status == self.Status.PUBLISHED and now < self.enrollment_closes_at()


class Enrollment(models.Model):
    """报名: one sign-up; withdrawn ones stay as history, at most one active per person."""

    class Status(models.TextChoices):
        ENROLLED = "enrolled", "已报名"
        WAITLISTED = "waitlisted", "候补"
        WITHDRAWN = "withdrawn", "已取消"

    ACTIVE_STATUSES = (Status.ENROLLED, Status.WAITLISTED)

    activity = models.ForeignKey(Activity, on_delete=models.PROTECT, related_name="enrollments", verbose_name="活动")
    user = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="enrollments", verbose_name="报名人")
    status = models.CharField("状态", max_length=16, choices=Status.choices)
    created_at = models.DateTimeField("报名时间", default=timezone.now, editable=False)
    promoted_at = models.DateTimeField("候补转正时间", null=True, blank=True)
    withdrawn_at = models.DateTimeField("取消时间", null=True, blank=True)

    class Meta:
        verbose_name = "报名"
        verbose_name_plural = "报名"
        # The waiting list is served in this order.
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(
                fields=["activity", "user"],
                condition=Q(status__in=["enrolled", "waitlisted"]),
                name="enrollment_one_active",
            ),
        ]
        indexes = [models.Index(fields=["activity", "status"], name="enrollment_activity_status")]

    def __str__(self) -> str:
        return f"{self.user} · {self.activity}"


class CheckIn(AppendOnlyModel):
    """签到 / 签退: one arrival and one departure per person and activity, ever.

    Append-only. A phone check-in carries the client's `client_id` (a retry is answered with the
    first row) and the distance from the venue; a manual one carries who recorded it and why.
    """

    class Kind(models.TextChoices):
        IN = "in", "签到"
        OUT = "out", "签退"

    activity = models.ForeignKey(Activity, on_delete=models.PROTECT, related_name="checkins", verbose_name="活动")
    user = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="checkins", verbose_name="签到人")
    kind = models.CharField("类型", max_length=3, choices=Kind.choices)
    at = models.DateTimeField("时间", default=timezone.now)
    client_id = models.UUIDField("客户端请求号", null=True, blank=True)
    distance_m = models.PositiveIntegerField("距活动地点(米)", null=True, blank=True)
    accuracy_m = models.PositiveIntegerField("定位精度(米)", null=True, blank=True)
    inside = models.BooleanField("在签到范围内", null=True, blank=True, help_text="空: 人工登记")
    manual = models.BooleanField("人工登记", default=False)
    reason = models.CharField("登记原因", max_length=200, blank=True)
    recorded_by = models.ForeignKey(
        USER, on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name="登记人"
    )

    class Meta:
        verbose_name = "签到记录"
        verbose_name_plural = "签到记录"
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["activity", "user", "kind"], name="checkin_once_per_kind"),
            models.UniqueConstraint(
                fields=["user", "client_id"], condition=Q(client_id__isnull=False), name="checkin_client_id_once"
            ),
            models.CheckConstraint(
                condition=Q(manual=False, client_id__isnull=False, distance_m__isnull=False, inside__isnull=False)
                | Q(manual=True, recorded_by__isnull=False) & ~Q(reason=""),
                name="checkin_phone_or_manual",
            ),
        ]
        triggers = append_only()

    def __str__(self) -> str:
        return f"{self.user} {self.get_kind_display()} {self.activity}"


class LeaveRequest(models.Model):
    """请假: a member asks to be excused from a branch meeting before it starts; staff decide."""

    class Status(models.TextChoices):
        PENDING = "pending", "待审批"
        APPROVED = "approved", "已批准"
        REJECTED = "rejected", "未批准"

    ACTIVE_STATUSES = (Status.PENDING, Status.APPROVED)

    activity = models.ForeignKey(Activity, on_delete=models.PROTECT, related_name="leave_requests", verbose_name="活动")
    user = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="leave_requests", verbose_name="请假人")
    reason = models.CharField("请假事由", max_length=500)
    status = models.CharField("状态", max_length=16, choices=Status.choices, default=Status.PENDING)
    requested_at = models.DateTimeField("申请时间", default=timezone.now, editable=False)
    decided_by = models.ForeignKey(
        USER, on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name="审批人"
    )
    decided_at = models.DateTimeField("审批时间", null=True, blank=True)
    decision_note = models.CharField("审批意见", max_length=500, blank=True)

    class Meta:
        verbose_name = "请假"
        verbose_name_plural = "请假"
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(
                fields=["activity", "user"],
                condition=Q(status__in=["pending", "approved"]),
                name="leaverequest_one_active",
            ),
            models.CheckConstraint(
                condition=Q(status="pending") | Q(decided_at__isnull=False), name="leaverequest_decided_has_date"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} · {self.activity}"


class Minutes(models.Model):
    """会议记录 of a branch meeting: topics, decisions, attachments."""

    activity = models.OneToOneField(Activity, on_delete=models.PROTECT, related_name="minutes", verbose_name="活动")
    topics = models.TextField("议题", max_length=5000)
    decisions = models.TextField("决议", max_length=5000, blank=True)
    content = models.TextField("会议内容", max_length=20000, blank=True)
    attachments = models.ManyToManyField("core.Upload", blank=True, related_name="+", verbose_name="附件")
    recorded_by = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+", verbose_name="记录人")
    recorded_at = models.DateTimeField("记录时间", default=timezone.now, editable=False)
    updated_by = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+", verbose_name="最后修改人")
    updated_at = models.DateTimeField("最后修改时间", auto_now=True)

    class Meta:
        verbose_name = "会议记录"
        verbose_name_plural = "会议记录"
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"{self.activity} · 会议记录"


class ActivityPhoto(models.Model):
    """A picture kept with the activity's record (活动影像), from staff or a participant."""

    activity = models.ForeignKey(Activity, on_delete=models.PROTECT, related_name="photos", verbose_name="活动")
    upload = models.ForeignKey("core.Upload", on_delete=models.PROTECT, related_name="+", verbose_name="图片")
    added_by = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+", verbose_name="上传人")
    added_at = models.DateTimeField("添加时间", default=timezone.now, editable=False)

    class Meta:
        verbose_name = "活动照片"
        verbose_name_plural = "活动照片"
        ordering = ["id"]
        constraints = [models.UniqueConstraint(fields=["activity", "upload"], name="activityphoto_once")]

    def __str__(self) -> str:
        return f"{self.activity} · {self.upload_id}"
