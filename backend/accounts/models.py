"""Accounts: a custom user (phone and WeChat identities) and role grants with a scope."""

from __future__ import annotations

from typing import ClassVar, cast

from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.auth.models import PermissionsMixin
from django.core.validators import RegexValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone

from backend.core.ledger import AppendOnlyModel, append_only

MOBILE_RE = r"^1[3-9]\d{9}$"
mobile_validator = RegexValidator(MOBILE_RE, "请输入有效的中国大陆手机号", code="invalid_phone")


def mask_phone(phone: str | None) -> str | None:
    if not phone:
        return phone
    return f"{phone[:3]}****{phone[-4:]}" if len(phone) >= 7 else "****"


class UserManager(BaseUserManager):
    use_in_migrations = True

    def create_user(self, phone: str | None = None, password: str | None = None, **extra):
        # BaseUserManager is generic only to the type checker: it cannot be subscripted at runtime.
        user = cast("User", self.model(phone=phone or None, **extra))
        if password:
            user.set_password(password)
        else:
            user.set_unusable_password()
        user.full_clean(exclude=["password"])
        user.save(using=self._db)
        return user

    def create_superuser(self, phone: str, password: str, **extra):
        extra.setdefault("is_staff", True)
        extra.setdefault("is_superuser", True)
        return self.create_user(phone=phone, password=password, **extra)


class User(AbstractBaseUser, PermissionsMixin):
    phone = models.CharField("手机号", max_length=11, unique=True, null=True, blank=True, validators=[mobile_validator])
    real_name = models.CharField("姓名", max_length=50, blank=True)
    nickname = models.CharField("昵称", max_length=64, blank=True)
    wechat_openid = models.CharField("微信 openid", max_length=64, unique=True, null=True, blank=True)
    wechat_unionid = models.CharField("微信 unionid", max_length=64, null=True, blank=True, db_index=True)
    community = models.ForeignKey(
        "communities.Community",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="residents",
        verbose_name="所在社区",
    )
    is_active = models.BooleanField("启用", default=True)
    is_staff = models.BooleanField("可登录 Django 超级后台", default=False)
    date_joined = models.DateTimeField("注册时间", default=timezone.now)
    anonymised_at = models.DateTimeField("匿名化时间", null=True, blank=True)

    objects = UserManager()

    USERNAME_FIELD = "phone"
    REQUIRED_FIELDS: ClassVar[list[str]] = []

    class Meta:
        verbose_name = "用户"
        verbose_name_plural = "用户"
        ordering = ["id"]

    def __str__(self) -> str:
        return self.real_name or mask_phone(self.phone) or f"用户{self.pk}"

    @property
    def masked_phone(self) -> str | None:
        return mask_phone(self.phone)


class Role(models.TextChoices):
    STREET_ADMIN = "street_admin", "街道管理员"
    COMMUNITY_SECRETARY = "community_secretary", "社区书记"
    COMMUNITY_STAFF = "community_staff", "社区工作人员"
    GRID_WORKER = "grid_worker", "网格员"
    UNIT_LIAISON = "unit_liaison", "单位联络员"


# Which scope field each role carries; the check constraint below holds the database to it.
SCOPE_FIELD_BY_ROLE = {
    Role.STREET_ADMIN: "street",
    Role.COMMUNITY_SECRETARY: "community",
    Role.COMMUNITY_STAFF: "community",
    Role.GRID_WORKER: "grid",
    Role.UNIT_LIAISON: "organization",
}
SCOPE_FIELDS = ("street", "community", "grid", "organization")


def _only(field: str) -> Q:
    q = Q(**{f"{field}__isnull": False})
    for other in SCOPE_FIELDS:
        if other != field:
            q &= Q(**{f"{other}__isnull": True})
    return q


class RoleGrant(models.Model):
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="role_grants", verbose_name="用户")
    role = models.CharField("角色", max_length=32, choices=Role.choices)
    street = models.ForeignKey(
        "communities.Street", on_delete=models.CASCADE, null=True, blank=True, verbose_name="街道"
    )
    community = models.ForeignKey(
        "communities.Community", on_delete=models.CASCADE, null=True, blank=True, verbose_name="社区"
    )
    grid = models.ForeignKey("communities.Grid", on_delete=models.CASCADE, null=True, blank=True, verbose_name="网格")
    organization = models.ForeignKey(
        "communities.PartyOrganization", on_delete=models.CASCADE, null=True, blank=True, verbose_name="党组织"
    )
    granted_by = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", verbose_name="授权人"
    )
    created_at = models.DateTimeField("授权时间", auto_now_add=True)
    revoked_at = models.DateTimeField("撤销时间", null=True, blank=True)
    revoked_by = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", verbose_name="撤销人"
    )

    class Meta:
        verbose_name = "角色授权"
        verbose_name_plural = "角色授权"
        ordering = ["id"]
        indexes = [models.Index(fields=["user", "revoked_at"], name="rolegrant_user_active")]
        constraints = [
            models.CheckConstraint(
                condition=(
                    (Q(role=Role.STREET_ADMIN) & _only("street"))
                    | (Q(role__in=[Role.COMMUNITY_SECRETARY, Role.COMMUNITY_STAFF]) & _only("community"))
                    | (Q(role=Role.GRID_WORKER) & _only("grid"))
                    | (Q(role=Role.UNIT_LIAISON) & _only("organization"))
                ),
                name="rolegrant_scope_matches_role",
            ),
            *[
                models.UniqueConstraint(
                    fields=["user", "role", field],
                    condition=Q(revoked_at__isnull=True, **{f"{field}__isnull": False}),
                    name=f"rolegrant_unique_active_{field}",
                )
                for field in SCOPE_FIELDS
            ],
        ]

    def __str__(self) -> str:
        return f"{self.user} · {self.get_role_display()} · {self.scope_object}"

    @property
    def scope_field(self) -> str:
        return SCOPE_FIELD_BY_ROLE[Role(self.role)]

    @property
    def scope_object(self):
        return getattr(self, self.scope_field)

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


class PersonalDataAccess(AppendOnlyModel):
    """One staff read of someone else's personal details (append-only; see accounts/audit.py).

    PROTECT on both users: accounts are anonymised in place, never deleted, so the trail stays.
    """

    actor = models.ForeignKey(User, on_delete=models.PROTECT, related_name="personal_data_reads", verbose_name="查阅人")
    subject = models.ForeignKey(
        User, on_delete=models.PROTECT, related_name="personal_data_read_by", verbose_name="被查阅人"
    )
    what = models.CharField("查阅内容", max_length=64, help_text="如 party_member、member_registration")
    object_id = models.PositiveBigIntegerField("对象 id", null=True, blank=True)
    path = models.CharField("请求路径", max_length=255, blank=True)
    at = models.DateTimeField("查阅时间", default=timezone.now, editable=False)

    class Meta:
        verbose_name = "个人信息查阅记录"
        verbose_name_plural = "个人信息查阅记录"
        ordering = ["-id"]
        indexes = [
            models.Index(fields=["subject", "-at"], name="pdaccess_subject_recent"),
            models.Index(fields=["actor", "-at"], name="pdaccess_actor_recent"),
        ]
        triggers = append_only()

    def __str__(self) -> str:
        return f"{self.actor} → {self.subject} · {self.what}"
