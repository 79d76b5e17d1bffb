"""Notices (通知公告) with one receipt per recipient, and WeChat subscribe-message consents and sends."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone


class Notice(models.Model):
    class Kind(models.TextChoices):
        ANNOUNCEMENT = "announcement", "通知公告"
        ACTIVITY = "activity", "活动"
        REGISTRATION = "registration", "双报到"
        VOLUNTEER = "volunteer", "志愿服务"
        APPEAL = "appeal", "诉求"
        BRAND = "brand", "品牌"
        SYSTEM = "system", "系统消息"

    class AudienceKind(models.TextChoices):
        USERS = "users", "指定用户"
        STREET = "street", "街道"
        COMMUNITY = "community", "社区"
        GRID = "grid", "网格"
        ACTIVITY = "activity", "活动"

    title = models.CharField("标题", max_length=100)
    body = models.TextField("正文", max_length=5000)
    kind = models.CharField("类型", max_length=32, choices=Kind.choices, default=Kind.ANNOUNCEMENT)
    attachments = models.JSONField("附件", default=list, blank=True, help_text="上传文件 id 列表")
    # SET_NULL: a notice outlives its sender's account; system notices have no sender at all.
    sender = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="sent_notices",
        verbose_name="发布人",
    )
    audience_kind = models.CharField("受众类型", max_length=16, choices=AudienceKind.choices)
    audience_ids = models.JSONField("受众", default=list, blank=True, help_text="街道、社区、网格、活动或用户的 id")
    # The place the audience lies in, when it lies in one: what scopes the console's lists.
    street = models.ForeignKey(
        "communities.Street", on_delete=models.SET_NULL, null=True, blank=True, related_name="+", verbose_name="街道"
    )
    community = models.ForeignKey(
        "communities.Community",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="社区",
    )
    recipient_count = models.PositiveIntegerField("接收人数", default=0)
    created_at = models.DateTimeField("发布时间", default=timezone.now, editable=False)

    class Meta:
        verbose_name = "通知公告"
        verbose_name_plural = "通知公告"
        ordering = ["-id"]
        indexes = [
            models.Index(fields=["sender", "-id"], name="notice_sender_recent"),
            models.Index(fields=["community", "-id"], name="notice_community_recent"),
            models.Index(fields=["street", "-id"], name="notice_street_recent"),
        ]

    def __str__(self) -> str:
        return self.title


class NoticeReceipt(models.Model):
    """One recipient of one notice: the user's inbox row, written when the notice is sent.

    PROTECT on the user: accounts are anonymised in place, never deleted, so a receipt keeps
    pointing at the (now pseudonymous) account and the sender's read figures stay true.
    """

    notice = models.ForeignKey(Notice, on_delete=models.CASCADE, related_name="receipts", verbose_name="通知")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="notice_receipts", verbose_name="接收人"
    )
    read_at = models.DateTimeField("阅读时间", null=True, blank=True)

    class Meta:
        verbose_name = "通知回执"
        verbose_name_plural = "通知回执"
        ordering = ["-notice_id", "id"]
        constraints = [models.UniqueConstraint(fields=["notice", "user"], name="notice_receipt_unique")]
        indexes = [
            # "My notices" newest first and replay after an id: one range scan each.
            models.Index(fields=["user", "-notice"], name="receipt_user_notice"),
            # Unread counts touch only unread rows.
            models.Index(fields=["user"], condition=Q(read_at__isnull=True), name="receipt_user_unread"),
        ]

    def __str__(self) -> str:
        return f"{self.notice_id} → {self.user_id}"


class SubscribeConsent(models.Model):
    """One-time consents a user gave in wx.requestSubscribeMessage, counted per template."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="subscribe_consents", verbose_name="用户"
    )
    template_id = models.CharField("模板 ID", max_length=64)
    remaining = models.PositiveIntegerField("剩余次数", default=0)
    accepted_total = models.PositiveIntegerField("累计同意次数", default=0)
    last_accepted_at = models.DateTimeField("最近同意时间", null=True, blank=True)
    last_rejected_at = models.DateTimeField("最近拒绝时间", null=True, blank=True)

    class Meta:
        verbose_name = "订阅消息授权"
        verbose_name_plural = "订阅消息授权"
        ordering = ["id"]
        constraints = [models.UniqueConstraint(fields=["user", "template_id"], name="subscribe_consent_unique")]

    def __str__(self) -> str:
        return f"{self.user_id} · {self.template_id} · {self.remaining}"


class SubscribeDelivery(models.Model):
    """A subscribe message for one notice to one user: at most one per pair, every attempt counted."""

    class Status(models.TextChoices):
        PENDING = "pending", "待发送"
        SENDING = "sending", "发送中"
        RETRYING = "retrying", "等待重试"
        SENT = "sent", "已发送"
        REFUSED = "refused", "用户未授权"
        FAILED = "failed", "发送失败"
        SKIPPED = "skipped", "未发送"

    notice = models.ForeignKey(Notice, on_delete=models.CASCADE, related_name="deliveries", verbose_name="通知")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="subscribe_deliveries", verbose_name="接收人"
    )
    template_id = models.CharField("模板 ID", max_length=64)
    status = models.CharField("状态", max_length=16, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField("尝试次数", default=0)
    consent_spent = models.BooleanField("已扣减授权", default=False)
    errcode = models.IntegerField("微信错误码", null=True, blank=True)
    detail = models.CharField("说明", max_length=200, blank=True)
    next_attempt_at = models.DateTimeField("下次尝试时间", null=True, blank=True)
    created_at = models.DateTimeField("创建时间", default=timezone.now, editable=False)
    updated_at = models.DateTimeField("更新时间", auto_now=True)

    class Meta:
        verbose_name = "订阅消息发送"
        verbose_name_plural = "订阅消息发送"
        ordering = ["-id"]
        constraints = [models.UniqueConstraint(fields=["notice", "user"], name="subscribe_delivery_unique")]
        indexes = [models.Index(fields=["status"], name="subscribe_delivery_status")]

    def __str__(self) -> str:
        return f"{self.notice_id} → {self.user_id} ({self.status})"
