"""Plan versions: written and submitted by the community, reviewed by its street."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import Any

from django.db import transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _

from backend.accounts.models import User
from backend.core.errors import field_error
from backend.core.events import Audience, emit
from backend.core.models import Upload

from .. import selectors
from ..models import (
    Brand,
    BrandPlan,
    BrandPlanAttachment,
)
from .access import invalid_transition, require_plan_reviewer, require_plan_writer


def _lock_plan(plan: BrandPlan) -> BrandPlan:
    return BrandPlan.objects.select_for_update().select_related("brand__community").get(pk=plan.pk)


def _plan_data(plan: BrandPlan) -> dict[str, Any]:
    return {
        "plan": plan.pk,
        "brand": plan.brand_id,
        "brand_name": plan.brand.name,
        "community": plan.brand.community_id,
        "version": plan.version,
        "status": plan.status,
    }


def _tell_community(plan: BrandPlan, *, event: str, data: dict[str, Any]) -> None:
    user_ids = set(selectors.community_staff_ids([plan.brand.community_id]).get(plan.brand.community_id, []))
    if plan.author_id:
        user_ids.add(plan.author_id)
    if user_ids:
        emit(event=event, data=data, audience=Audience.users(sorted(user_ids)))


def _set_attachments(plan: BrandPlan, uploads: Iterable[Upload]) -> None:
    ordered = list({upload.pk: upload for upload in uploads}.values())
    plan.attachment_links.all().delete()
    BrandPlanAttachment.objects.bulk_create(
        [BrandPlanAttachment(plan=plan, upload=upload, position=index) for index, upload in enumerate(ordered)]
    )


def check_new_plan(*, by: User, brand: Brand) -> None:
    """May `by` start the next version now? (Also what the console's form asks before saving.)"""
    require_plan_writer(by=by, brand=brand)
    if brand.status == Brand.Status.RETIRED:
        raise invalid_transition(_("已停用的品牌不能再提交方案"))
    open_plan = brand.plans.filter(status__in=BrandPlan.OPEN_STATUSES).first()
    if open_plan is None:
        return
    if open_plan.status == BrandPlan.Status.DRAFT:
        raise invalid_transition(
            _("已有未提交的方案草稿(第%(version)s版), 请修改该草稿") % {"version": open_plan.version}
        )
    raise invalid_transition(_("第%(version)s版方案正在审核, 审核后才能编写新版本") % {"version": open_plan.version})


@transaction.atomic
def create_plan(*, by: User, brand: Brand, content: str, attachments: Iterable[Upload] = ()) -> BrandPlan:
    """Start the next version. One version is in the works at a time: revise a returned one as new."""
    brand = Brand.objects.select_for_update().select_related("community").get(pk=brand.pk)
    check_new_plan(by=by, brand=brand)
    version = (brand.plans.aggregate(last=Max("version"))["last"] or 0) + 1
    plan = BrandPlan.objects.create(
        brand=brand,
        version=version,
        year=timezone.localdate().year,
        content=content,
        author=by if getattr(by, "is_authenticated", False) else None,
    )
    _set_attachments(plan, attachments)
    return plan


@transaction.atomic
def update_plan(
    *, by: User, plan: BrandPlan, content: str | None = None, attachments: Iterable[Upload] | None = None
) -> BrandPlan:
    plan = _lock_plan(plan)
    require_plan_writer(by=by, brand=plan.brand)
    if plan.status != BrandPlan.Status.DRAFT:
        raise invalid_transition(_("只有草稿可以修改; 退回的方案请编写新版本"))
    if content is not None:
        plan.content = content
        plan.save(update_fields=["content", "updated_at"])
    if attachments is not None:
        _set_attachments(plan, attachments)
        plan.save(update_fields=["updated_at"])
    return plan


@transaction.atomic
def delete_plan(*, by: User, plan: BrandPlan) -> None:
    plan = _lock_plan(plan)
    require_plan_writer(by=by, brand=plan.brand)
    if plan.status != BrandPlan.Status.DRAFT:
        raise invalid_transition(_("只有草稿可以删除"))
    plan.delete()


@transaction.atomic
def submit_plan(*, by: User, plan: BrandPlan) -> BrandPlan:
    plan = _lock_plan(plan)
    require_plan_writer(by=by, brand=plan.brand, detail=_("品牌方案由本社区工作人员提交"))
    if plan.status != BrandPlan.Status.DRAFT:
        raise invalid_transition(_("只有草稿可以提交"))
    if plan.brand.status == Brand.Status.RETIRED:
        raise invalid_transition(_("已停用的品牌不能再提交方案"))
    plan.status = BrandPlan.Status.SUBMITTED
    plan.submitted_at = timezone.now()
    plan.submitted_by = by if getattr(by, "is_authenticated", False) else None
    plan.save(update_fields=["status", "submitted_at", "submitted_by", "updated_at"])
    admins = selectors.street_admin_ids(plan.brand.community.street_id)
    if admins:
        emit(
            event="brand_plan.submitted",
            data={**_plan_data(plan), "community_name": plan.brand.community.name},
            audience=Audience.users(admins),
        )
    return plan


def _review(*, by: User, plan: BrandPlan, status: str, comments: str) -> BrandPlan:
    plan = _lock_plan(plan)
    require_plan_reviewer(by=by, brand=plan.brand)
    # After the permission: a community asking to return its own plan hears 403, not 400.
    if status == BrandPlan.Status.RETURNED and not comments:
        raise field_error("comments", _("退回时请填写修改意见"))
    if plan.status != BrandPlan.Status.SUBMITTED:
        raise invalid_transition(_("只有待审核的方案可以审核"))
    plan.status = status
    plan.reviewed_at = timezone.now()
    plan.reviewed_by = by if getattr(by, "is_authenticated", False) else None
    plan.review_comments = comments
    plan.save(update_fields=["status", "reviewed_at", "reviewed_by", "review_comments", "updated_at"])
    event = "brand_plan.approved" if status == BrandPlan.Status.APPROVED else "brand_plan.returned"
    _tell_community(plan, event=event, data={**_plan_data(plan), "comments": comments})
    return plan


@transaction.atomic
def approve_plan(*, by: User, plan: BrandPlan, comments: str = "") -> BrandPlan:
    return _review(by=by, plan=plan, status=BrandPlan.Status.APPROVED, comments=comments.strip())


@transaction.atomic
def return_plan(*, by: User, plan: BrandPlan, comments: str) -> BrandPlan:
    """Send a plan back with what to change; the community answers with a new version."""
    return _review(by=by, plan=plan, status=BrandPlan.Status.RETURNED, comments=(comments or "").strip())


def is_overdue(*, plan: BrandPlan, due_date: date | None, today: date) -> bool:
    """Not handed in by the end of its due date (Asia/Shanghai), counted in Shanghai days."""
    if due_date is None or today <= due_date:
        return False
    if plan.submitted_at is None:
        return True
    return timezone.localdate(plan.submitted_at) > due_date
