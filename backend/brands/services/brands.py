"""A community's brand: drafted, checked by WeChat, published (replacing the current one), retired."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from backend.accounts.models import User
from backend.communities.models import Community
from backend.core import moderation
from backend.core.errors import field_error
from backend.core.models import Upload

from ..models import (
    Brand,
    BrandPlan,
)
from .access import can_edit_brand, denied, invalid_transition, require_brand_editor

BRAND_FIELDS = {"name", "slogan", "description", "logo", "method_name", "method_problem", "method_steps"}


def _clean_steps(steps: Sequence[str]) -> list[str]:
    return [str(step).strip() for step in steps if str(step).strip()]


@transaction.atomic
def create_brand(
    *,
    by: User,
    community: Community,
    name: str,
    slogan: str = "",
    description: str = "",
    logo: Upload | None = None,
    method_name: str = "",
    method_problem: str = "",
    method_steps: Sequence[str] = (),
) -> Brand:
    if not can_edit_brand(user=by, community_id=community.pk):
        raise denied(_("只能为本社区创建品牌"))
    if logo is not None and logo.kind != Upload.Kind.IMAGE:
        raise field_error("logo", _("品牌标志须为图片"))
    brand = Brand.objects.create(
        community=community,
        name=name,
        slogan=slogan,
        description=description,
        logo=logo,
        method_name=method_name,
        method_problem=method_problem,
        method_steps=_clean_steps(method_steps),
        created_by=by if getattr(by, "is_authenticated", False) else None,
    )
    _check_content(brand, by=by)
    return brand


BRAND_TEXT_FIELDS = ("name", "slogan", "description", "method_name", "method_problem", "method_steps")


def _check_content(brand: Brand, *, by: User) -> None:
    """The public page waits for WeChat (its text and logo); unchanged parts keep their verdict."""
    moderation.submit(
        brand,
        author=by,
        community_id=brand.community_id,
        texts={"text": BRAND_TEXT_FIELDS},
        images=[brand.logo],
        scene=moderation.SCENE_PROFILE,
    )


@transaction.atomic
def update_brand(*, by: User, brand: Brand, **changes: Any) -> Brand:
    unknown = set(changes) - BRAND_FIELDS
    if unknown:
        raise ValueError(f"not brand fields: {sorted(unknown)}")
    brand = Brand.objects.select_for_update().get(pk=brand.pk)
    require_brand_editor(by=by, brand=brand)
    if brand.status == Brand.Status.RETIRED:
        raise invalid_transition(_("已停用的品牌不能修改"))
    logo = changes.get("logo")
    if logo is not None and logo.kind != Upload.Kind.IMAGE:
        raise field_error("logo", _("品牌标志须为图片"))
    if "method_steps" in changes:
        changes["method_steps"] = _clean_steps(changes["method_steps"])
    for name, value in changes.items():
        setattr(brand, name, value)
    brand.save()
    _check_content(brand, by=by)
    return brand


@transaction.atomic
def publish_brand(*, by: User, brand: Brand) -> Brand:
    """Make a draft the community's current brand; the brand it replaces is kept, retired."""
    brand = Brand.objects.select_for_update().get(pk=brand.pk)
    require_brand_editor(by=by, brand=brand, detail=_("只能发布本社区(街道)的品牌"))
    if brand.status != Brand.Status.DRAFT:
        raise invalid_transition(_("只有草稿状态的品牌可以发布"))
    now = timezone.now()
    current = (
        Brand.objects.select_for_update().filter(community_id=brand.community_id, status=Brand.Status.ACTIVE).first()
    )
    if current is not None:
        current.status = Brand.Status.RETIRED
        current.retired_at = now
        current.save(update_fields=["status", "retired_at", "updated_at"])
    brand.status = Brand.Status.ACTIVE
    brand.published_at = now
    try:
        with transaction.atomic():
            brand.save(update_fields=["status", "published_at", "updated_at"])
    except IntegrityError:
        # Another publish for the same community won the race.
        raise invalid_transition(_("该社区已有正在使用的品牌, 请重试")) from None
    return brand


@transaction.atomic
def retire_brand(*, by: User, brand: Brand) -> Brand:
    brand = Brand.objects.select_for_update().get(pk=brand.pk)
    require_brand_editor(by=by, brand=brand, detail=_("只能停用本社区(街道)的品牌"))
    if brand.status != Brand.Status.ACTIVE:
        raise invalid_transition(_("只有已发布的品牌可以停用"))
    brand.status = Brand.Status.RETIRED
    brand.retired_at = timezone.now()
    brand.save(update_fields=["status", "retired_at", "updated_at"])
    return brand


@transaction.atomic
def delete_brand(*, by: User, brand: Brand) -> None:
    """Only a draft that nobody has reviewed anything of may go; anything public stays as history."""
    brand = Brand.objects.select_for_update().get(pk=brand.pk)
    require_brand_editor(by=by, brand=brand, detail=_("只能删除本社区(街道)的品牌"))
    if brand.status != Brand.Status.DRAFT:
        raise invalid_transition(_("已发布或已停用的品牌不能删除"))
    if brand.plans.exclude(status=BrandPlan.Status.DRAFT).exists():
        raise invalid_transition(_("品牌已有提交过的方案, 不能删除"))
    moderation.forget(brand)
    brand.delete()
