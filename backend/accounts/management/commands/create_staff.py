"""`manage.py create_staff`: a console account with a password and one role, or the first superuser."""

from __future__ import annotations

import re

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from backend.accounts.models import MOBILE_RE, SCOPE_FIELD_BY_ROLE, SCOPE_FIELDS, Role, User
from backend.accounts.services import create_staff_account
from backend.communities.models import Community, Grid, PartyOrganization, Street
from backend.core.errors import DomainError

PLACE_MODELS = {"street": Street, "community": Community, "grid": Grid, "organization": PartyOrganization}
PLACE_LABELS = {"street": "街道", "community": "社区", "grid": "网格", "organization": "党组织"}


class Command(BaseCommand):
    help = (
        "创建或更新一个工作人员账号 (手机号 + 密码) 并授予一个角色; 或用 --superuser 创建首个超级管理员。"
        "对已有手机号重复运行: 重设密码, 缺少的授权会补上。"
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--phone", required=True, help="中国大陆手机号, 即登录名")
        parser.add_argument("--password", required=True, help="登录密码, 须通过密码强度校验")
        parser.add_argument("--role", help="角色: " + ", ".join(f"{r.value} ({r.label})" for r in Role))
        parser.add_argument("--superuser", action="store_true", help="创建超级管理员, 代替 --role")
        parser.add_argument("--street", type=int, help="街道 ID (street_admin)")
        parser.add_argument("--community", type=int, help="社区 ID (community_secretary, community_staff)")
        parser.add_argument("--grid", type=int, help="网格 ID (grid_worker)")
        parser.add_argument("--organization", type=int, help="党组织 ID (unit_liaison)")
        parser.add_argument("--real-name", default="", help="姓名")

    def handle(self, *args, **options) -> None:
        phone = (options["phone"] or "").strip()
        password = options["password"] or ""
        real_name = (options["real_name"] or "").strip()
        given = {name: options[name] for name in SCOPE_FIELDS if options[name] is not None}

        if not re.fullmatch(MOBILE_RE, phone):
            raise CommandError(f"手机号格式不正确: {phone!r} (应为 11 位中国大陆手机号)")
        if options["superuser"] == bool(options["role"]):
            raise CommandError("请指定 --role 或 --superuser, 二者选一")

        existing = User.objects.filter(phone=phone).first()
        self._check_password(password, existing or User(phone=phone, real_name=real_name))

        if options["superuser"]:
            if given:
                raise CommandError("--superuser 不带范围参数 (--street/--community/--grid/--organization)")
            self._superuser(phone=phone, password=password, real_name=real_name, existing=existing)
            return

        role, scope_field, place = self._role_and_place(options["role"], given)
        try:
            user, _grant = create_staff_account(
                # The place is of the kind scope_field names: _role_and_place looked it up in that model.
                phone=phone,
                password=password,
                role=role,
                real_name=real_name,
                **{scope_field: place},  # type: ignore[arg-type]
            )
        except DomainError as exc:
            raise CommandError(str(exc.detail)) from exc
        action = "已更新" if existing else "已创建"
        self.stdout.write(
            self.style.SUCCESS(f"{action}账号 {user.masked_phone}: {role.label} · {PLACE_LABELS[scope_field]} {place}")
        )
        if existing is not None and not existing.is_active:
            self.stderr.write(self.style.WARNING("注意: 该账号已停用, 启用前无法登录"))

    def _check_password(self, password: str, user: User) -> None:
        try:
            validate_password(password, user=user)
        except ValidationError as exc:
            raise CommandError("密码不符合要求: " + " ".join(exc.messages)) from exc

    def _role_and_place(self, role_value: str, given: dict[str, int]) -> tuple[Role, str, object]:
        try:
            role = Role(role_value)
        except ValueError:
            raise CommandError(f"未知角色 {role_value!r}, 可选: " + ", ".join(r.value for r in Role)) from None
        scope_field = SCOPE_FIELD_BY_ROLE[role]
        extra = sorted(set(given) - {scope_field})
        if scope_field not in given or extra:
            message = f"角色 {role.value} ({role.label}) 需要且只需要 --{scope_field}"
            if extra:
                message += ", 多余的参数: " + ", ".join(f"--{name}" for name in extra)
            raise CommandError(message)
        place = PLACE_MODELS[scope_field]._default_manager.filter(pk=given[scope_field]).first()
        if place is None:
            raise CommandError(f"{PLACE_LABELS[scope_field]} ID {given[scope_field]} 不存在")
        if isinstance(place, PartyOrganization) and not place.is_unit:
            raise CommandError(f"党组织 {place} 不是机关/企事业单位党组织, 不能设单位联络员")
        return role, scope_field, place

    @transaction.atomic
    def _superuser(self, *, phone: str, password: str, real_name: str, existing: User | None) -> None:
        if existing is None:
            user = User.objects.create_superuser(phone=phone, password=password, real_name=real_name)
            self.stdout.write(self.style.SUCCESS(f"已创建超级管理员 {user.masked_phone}"))
            return
        existing.set_password(password)
        existing.is_superuser = True
        existing.is_staff = True
        if real_name and not existing.real_name:
            existing.real_name = real_name
        existing.save(update_fields=["password", "is_superuser", "is_staff", "real_name"])
        self.stdout.write(self.style.SUCCESS(f"已将 {existing.masked_phone} 设为超级管理员并重设密码"))
