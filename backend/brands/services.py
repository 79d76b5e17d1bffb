"""The rules of 一社区一品牌: brands, plan versions and their review, deadlines, reminders, honours.

Community staff (secretary or staff of that community) write their community's brand and plans;
street admins may edit any brand in their street, set the deadlines and are the only reviewers of
plans. Every write that others should hear about is announced with `emit()` after commit.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _

from backend.accounts.scoping import can_act_on_community, can_act_on_street
from backend.communities.models import Community, PartyOrganization, Street
from backend.core import moderation
from backend.core.errors import DomainError, field_error
from backend.core.events import Audience, emit
from backend.core.models import Upload
from backend.notices import services as notice_services
from backend.notices.models import Notice

from . import selectors
from .models import (
    Brand,
    BrandDeadline,
    BrandDeadlineCommunity,
    BrandPlan,
    BrandPlanAttachment,
    Honor,
    PlanReminder,
)

BRAND_FIELDS = {"name", "slogan", "description", "logo", "method_name", "method_problem", "method_steps"}
HONOR_FIELDS = {"level", "title", "issuer", "awarded_on", "brand", "organization"}

# (kind, fewest days left, most days left): the job runs hourly and sends the kind whose window
# holds today, once, so a deadline set 10 days ahead still gets its early reminder and a day the
# scheduler was down is caught up. Overdue is caught up for a week, no longer, so old
# deadlines do not wake up.
REMINDER_WINDOWS: tuple[tuple[str, int, int], ...] = (
    (PlanReminder.Kind.D14, 8, 14),
    (PlanReminder.Kind.D7, 2, 7),
    (PlanReminder.Kind.D1, 0, 1),
    (PlanReminder.Kind.OVERDUE, -7, -1),
)


def _denied(detail: str) -> DomainError:
    return DomainError("permission_denied", detail)


def _invalid_transition(detail: str) -> DomainError:
    return DomainError("invalid_transition", detail)


# Who may do what --------------------------------------------------------------------------------


def can_edit_brand(*, user: Any, community_id: int) -> bool:
    """The community's own staff, and the admins of its street."""
    return can_act_on_community(user, community_id)


def can_write_plans(*, user: Any, brand: Brand) -> bool:
    """Plans are the community's own work: only its secretary and staff write and submit them."""
    return selectors.holds_community_role(user, brand.community_id)


def can_review_plans(*, user: Any, brand: Brand) -> bool:
    """Only the admins of the brand's street review its plans."""
    return can_act_on_street(user, brand.community.street_id)


def can_manage_street(*, user: Any, street_id: int) -> bool:
    return can_act_on_street(user, street_id)


# Brands -----------------------------------------------------------------------------------------


def _clean_steps(steps: Sequence[str]) -> list[str]:
    return [str(step).strip() for step in steps if str(step).strip()]


@transaction.atomic
def create_brand(
    *,
    actor: Any,
    community: Community,
    name: str,
    slogan: str = "",
    description: str = "",
    logo: Upload | None = None,
    method_name: str = "",
    method_problem: str = "",
    method_steps: Sequence[str] = (),
) -> Brand:
    if not can_edit_brand(user=actor, community_id=community.pk):
        raise _denied(_("只能为本社区创建品牌"))
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
        created_by=actor if getattr(actor, "is_authenticated", False) else None,
    )
    _check_content(brand, actor=actor)
    return brand


BRAND_TEXT_FIELDS = ("name", "slogan", "description", "method_name", "method_problem", "method_steps")


def _check_content(brand: Brand, *, actor: Any) -> None:
    """The public page waits for WeChat (its text and logo); unchanged parts keep their verdict."""
    moderation.submit(
        brand,
        author=actor,
        community_id=brand.community_id,
        texts={"text": BRAND_TEXT_FIELDS},
        images=[brand.logo],
        scene=moderation.SCENE_PROFILE,
    )


@transaction.atomic
def update_brand(*, actor: Any, brand: Brand, **changes: Any) -> Brand:
    unknown = set(changes) - BRAND_FIELDS
    if unknown:
        raise ValueError(f"not brand fields: {sorted(unknown)}")
    brand = Brand.objects.select_for_update().get(pk=brand.pk)
    if not can_edit_brand(user=actor, community_id=brand.community_id):
        raise _denied(_("只能修改本社区(街道)的品牌"))
    if brand.status == Brand.Status.RETIRED:
        raise _invalid_transition(_("已停用的品牌不能修改"))
    logo = changes.get("logo")
    if logo is not None and logo.kind != Upload.Kind.IMAGE:
        raise field_error("logo", _("品牌标志须为图片"))
    if "method_steps" in changes:
        changes["method_steps"] = _clean_steps(changes["method_steps"])
    for name, value in changes.items():
        setattr(brand, name, value)
    brand.save()
    _check_content(brand, actor=actor)
    return brand


@transaction.atomic
def publish_brand(*, actor: Any, brand: Brand) -> Brand:
    """Make a draft the community's current brand; the brand it replaces is kept, retired."""
    brand = Brand.objects.select_for_update().get(pk=brand.pk)
    if not can_edit_brand(user=actor, community_id=brand.community_id):
        raise _denied(_("只能发布本社区(街道)的品牌"))
    if brand.status != Brand.Status.DRAFT:
        raise _invalid_transition(_("只有草稿状态的品牌可以发布"))
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
        raise _invalid_transition(_("该社区已有正在使用的品牌, 请重试")) from None
    return brand


@transaction.atomic
def retire_brand(*, actor: Any, brand: Brand) -> Brand:
    brand = Brand.objects.select_for_update().get(pk=brand.pk)
    if not can_edit_brand(user=actor, community_id=brand.community_id):
        raise _denied(_("只能停用本社区(街道)的品牌"))
    if brand.status != Brand.Status.ACTIVE:
        raise _invalid_transition(_("只有已发布的品牌可以停用"))
    brand.status = Brand.Status.RETIRED
    brand.retired_at = timezone.now()
    brand.save(update_fields=["status", "retired_at", "updated_at"])
    return brand


@transaction.atomic
def delete_brand(*, actor: Any, brand: Brand) -> None:
    """Only a draft that nobody has reviewed anything of may go; anything public stays as history."""
    brand = Brand.objects.select_for_update().get(pk=brand.pk)
    if not can_edit_brand(user=actor, community_id=brand.community_id):
        raise _denied(_("只能删除本社区(街道)的品牌"))
    if brand.status != Brand.Status.DRAFT:
        raise _invalid_transition(_("已发布或已停用的品牌不能删除"))
    if brand.plans.exclude(status=BrandPlan.Status.DRAFT).exists():
        raise _invalid_transition(_("品牌已有提交过的方案, 不能删除"))
    moderation.forget(brand)
    brand.delete()


# Plans ------------------------------------------------------------------------------------------


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


def check_new_plan(*, actor: Any, brand: Brand) -> None:
    """May `actor` start the next version now? (Also what the console's form asks before saving.)"""
    if not can_write_plans(user=actor, brand=brand):
        raise _denied(_("品牌方案由本社区工作人员编写"))
    if brand.status == Brand.Status.RETIRED:
        raise _invalid_transition(_("已停用的品牌不能再提交方案"))
    open_plan = brand.plans.filter(status__in=BrandPlan.OPEN_STATUSES).first()
    if open_plan is None:
        return
    if open_plan.status == BrandPlan.Status.DRAFT:
        raise _invalid_transition(
            _("已有未提交的方案草稿(第%(version)s版), 请修改该草稿") % {"version": open_plan.version}
        )
    raise _invalid_transition(_("第%(version)s版方案正在审核, 审核后才能编写新版本") % {"version": open_plan.version})


@transaction.atomic
def create_plan(*, actor: Any, brand: Brand, content: str, attachments: Iterable[Upload] = ()) -> BrandPlan:
    """Start the next version. One version is in the works at a time: revise a returned one as new."""
    brand = Brand.objects.select_for_update().select_related("community").get(pk=brand.pk)
    check_new_plan(actor=actor, brand=brand)
    version = (brand.plans.aggregate(last=Max("version"))["last"] or 0) + 1
    plan = BrandPlan.objects.create(
        brand=brand,
        version=version,
        year=timezone.localdate().year,
        content=content,
        author=actor if getattr(actor, "is_authenticated", False) else None,
    )
    _set_attachments(plan, attachments)
    return plan


@transaction.atomic
def update_plan(
    *, actor: Any, plan: BrandPlan, content: str | None = None, attachments: Iterable[Upload] | None = None
) -> BrandPlan:
    plan = _lock_plan(plan)
    if not can_write_plans(user=actor, brand=plan.brand):
        raise _denied(_("品牌方案由本社区工作人员编写"))
    if plan.status != BrandPlan.Status.DRAFT:
        raise _invalid_transition(_("只有草稿可以修改; 退回的方案请编写新版本"))
    if content is not None:
        plan.content = content
        plan.save(update_fields=["content", "updated_at"])
    if attachments is not None:
        _set_attachments(plan, attachments)
        plan.save(update_fields=["updated_at"])
    return plan


@transaction.atomic
def delete_plan(*, actor: Any, plan: BrandPlan) -> None:
    plan = _lock_plan(plan)
    if not can_write_plans(user=actor, brand=plan.brand):
        raise _denied(_("品牌方案由本社区工作人员编写"))
    if plan.status != BrandPlan.Status.DRAFT:
        raise _invalid_transition(_("只有草稿可以删除"))
    plan.delete()


@transaction.atomic
def submit_plan(*, actor: Any, plan: BrandPlan) -> BrandPlan:
    plan = _lock_plan(plan)
    if not can_write_plans(user=actor, brand=plan.brand):
        raise _denied(_("品牌方案由本社区工作人员提交"))
    if plan.status != BrandPlan.Status.DRAFT:
        raise _invalid_transition(_("只有草稿可以提交"))
    if plan.brand.status == Brand.Status.RETIRED:
        raise _invalid_transition(_("已停用的品牌不能再提交方案"))
    plan.status = BrandPlan.Status.SUBMITTED
    plan.submitted_at = timezone.now()
    plan.submitted_by = actor if getattr(actor, "is_authenticated", False) else None
    plan.save(update_fields=["status", "submitted_at", "submitted_by", "updated_at"])
    admins = selectors.street_admin_ids(plan.brand.community.street_id)
    if admins:
        emit(
            event="brand_plan.submitted",
            data={**_plan_data(plan), "community_name": plan.brand.community.name},
            audience=Audience.users(admins),
        )
    return plan


def _review(*, actor: Any, plan: BrandPlan, status: str, comments: str) -> BrandPlan:
    plan = _lock_plan(plan)
    if not can_review_plans(user=actor, brand=plan.brand):
        raise _denied(_("品牌方案由街道审核"))
    # After the permission: a community asking to return its own plan hears 403, not 400.
    if status == BrandPlan.Status.RETURNED and not comments:
        raise field_error("comments", _("退回时请填写修改意见"))
    if plan.status != BrandPlan.Status.SUBMITTED:
        raise _invalid_transition(_("只有待审核的方案可以审核"))
    plan.status = status
    plan.reviewed_at = timezone.now()
    plan.reviewed_by = actor if getattr(actor, "is_authenticated", False) else None
    plan.review_comments = comments
    plan.save(update_fields=["status", "reviewed_at", "reviewed_by", "review_comments", "updated_at"])
    event = "brand_plan.approved" if status == BrandPlan.Status.APPROVED else "brand_plan.returned"
    _tell_community(plan, event=event, data={**_plan_data(plan), "comments": comments})
    return plan


@transaction.atomic
def approve_plan(*, actor: Any, plan: BrandPlan, comments: str = "") -> BrandPlan:
    return _review(actor=actor, plan=plan, status=BrandPlan.Status.APPROVED, comments=comments.strip())


@transaction.atomic
def return_plan(*, actor: Any, plan: BrandPlan, comments: str) -> BrandPlan:
    """Send a plan back with what to change; the community answers with a new version."""
    return _review(actor=actor, plan=plan, status=BrandPlan.Status.RETURNED, comments=(comments or "").strip())


def is_overdue(*, plan: BrandPlan, due_date: date | None, today: date) -> bool:
    """Not handed in by the end of its due date (Asia/Shanghai), counted in Shanghai days."""
    if due_date is None or today <= due_date:
        return False
    if plan.submitted_at is None:
        return True
    return timezone.localdate(plan.submitted_at) > due_date


# Deadlines --------------------------------------------------------------------------------------


def _check_deadline_communities(
    *, street: Street, communities: Sequence[Community], year: int, deadline: BrandDeadline | None
) -> list[Community]:
    unique = list({c.pk: c for c in communities}.values())
    if not unique:
        raise field_error("communities", _("请至少选择一个社区"))
    foreign = [c.name for c in unique if c.street_id != street.pk]
    if foreign:
        raise field_error("communities", _("这些社区不属于该街道: %(names)s") % {"names": "、".join(foreign)})
    taken = BrandDeadlineCommunity.objects.filter(community__in=unique, year=year).select_related("community")
    if deadline is not None:
        taken = taken.exclude(deadline=deadline)
    names = [entry.community.name for entry in taken]
    if names:
        # One deadline per community a year: a second would leave the due date ambiguous.
        raise field_error(
            "communities",
            _("%(year)s年已为这些社区设过截止日期: %(names)s") % {"year": year, "names": "、".join(names)},
        )
    return unique


def check_deadline(
    *,
    actor: Any,
    street: Street,
    due_date: date,
    communities: Sequence[Community],
    deadline: BrandDeadline | None = None,
) -> list[Community]:
    """The checks of create/update without writing, for forms that show errors beside their fields."""
    if not can_manage_street(user=actor, street_id=street.pk):
        raise _denied(_("只有街道管理员可以设置截止日期"))
    return _check_deadline_communities(street=street, communities=communities, year=due_date.year, deadline=deadline)


def _save_entries(deadline: BrandDeadline, communities: list[Community]) -> None:
    year = deadline.due_date.year
    keep = {c.pk for c in communities}
    try:
        with transaction.atomic():
            deadline.entries.exclude(community_id__in=keep).delete()
            deadline.entries.filter(community_id__in=keep).exclude(year=year).update(year=year)
            present = set(deadline.entries.values_list("community_id", flat=True))
            BrandDeadlineCommunity.objects.bulk_create(
                [
                    BrandDeadlineCommunity(deadline=deadline, community=c, year=year)
                    for c in communities
                    if c.pk not in present
                ]
            )
    except IntegrityError:
        # Lost a race with another deadline naming the same community for the same year.
        raise field_error("communities", _("部分社区该年度已有截止日期, 请刷新后重试")) from None


@transaction.atomic
def create_deadline(
    *, actor: Any, street: Street, due_date: date, communities: Sequence[Community], title: str = ""
) -> BrandDeadline:
    chosen = check_deadline(actor=actor, street=street, due_date=due_date, communities=communities)
    deadline = BrandDeadline.objects.create(
        street=street,
        title=title,
        due_date=due_date,
        created_by=actor if getattr(actor, "is_authenticated", False) else None,
    )
    _save_entries(deadline, chosen)
    return deadline


@transaction.atomic
def update_deadline(
    *,
    actor: Any,
    deadline: BrandDeadline,
    due_date: date | None = None,
    communities: Sequence[Community] | None = None,
    title: str | None = None,
) -> BrandDeadline:
    deadline = BrandDeadline.objects.select_for_update().select_related("street").get(pk=deadline.pk)
    new_due = due_date or deadline.due_date
    chosen_in = list(communities) if communities is not None else list(deadline.communities.all())
    chosen = check_deadline(
        actor=actor, street=deadline.street, due_date=new_due, communities=chosen_in, deadline=deadline
    )
    deadline.due_date = new_due
    if title is not None:
        deadline.title = title
    deadline.save()
    _save_entries(deadline, chosen)
    return deadline


@transaction.atomic
def delete_deadline(*, actor: Any, deadline: BrandDeadline) -> None:
    if not can_manage_street(user=actor, street_id=deadline.street_id):
        raise _denied(_("只有街道管理员可以设置截止日期"))
    deadline.delete()


# Reminders --------------------------------------------------------------------------------------


def reminder_kind(*, days_left: int) -> str | None:
    for kind, fewest, most in REMINDER_WINDOWS:
        if fewest <= days_left <= most:
            return kind
    return None


def _reminder_text(*, community: Community, due_date: date, days_left: int) -> tuple[str, str]:
    due = f"{due_date.year}年{due_date.month}月{due_date.day}日"
    if days_left < 0:
        return (
            _("品牌方案已逾期"),
            _("%(community)s的品牌设计及方案应于%(due)s前提交, 现已逾期, 请尽快提交街道审核。")
            % {"community": community.name, "due": due},
        )
    left = _("今天截止") if days_left == 0 else _("还有%(days)s天") % {"days": days_left}
    return (
        _("品牌方案提交提醒"),
        _("%(community)s的品牌设计及方案应于%(due)s前提交街道审核, %(left)s。")
        % {"community": community.name, "due": due, "left": left},
    )


def send_due_reminders(*, today: date) -> int:
    """Remind each community whose plan is not handed in of its coming (or just missed) deadline.

    `today` is the Asia/Shanghai date. Safe to run any number of times: each reminder's row is
    inserted first, under a unique constraint, and the event leaves only if that insert commits.
    Returns how many reminders went out.
    """
    earliest, latest = today - timedelta(days=7), today + timedelta(days=14)
    entries = list(
        BrandDeadlineCommunity.objects.filter(deadline__due_date__range=(earliest, latest)).select_related(
            "deadline", "community"
        )
    )
    if not entries:
        return 0
    community_ids = {entry.community_id for entry in entries}
    handed_in = set(
        BrandPlan.objects.filter(
            brand__community_id__in=community_ids, status__in=BrandPlan.HANDED_IN_STATUSES
        ).values_list("brand__community_id", "year")
    )
    already = set(
        PlanReminder.objects.filter(deadline_id__in={e.deadline_id for e in entries}).values_list(
            "deadline_id", "community_id", "due_date", "kind"
        )
    )
    staff = selectors.community_staff_ids(community_ids)
    sent = 0
    for entry in entries:
        due_date = entry.deadline.due_date
        days_left = (due_date - today).days
        kind = reminder_kind(days_left=days_left)
        if kind is None or (entry.community_id, entry.year) in handed_in:
            continue
        if (entry.deadline_id, entry.community_id, due_date, kind) in already:
            continue
        recipients = staff.get(entry.community_id)
        if not recipients:
            # Nobody to tell yet; once staff are appointed the reminder still goes out in its window.
            continue
        if _send_reminder(entry=entry, kind=kind, days_left=days_left, recipients=recipients):
            sent += 1
    return sent


def _send_reminder(*, entry: BrandDeadlineCommunity, kind: str, days_left: int, recipients: list[int]) -> bool:
    deadline = entry.deadline
    try:
        with transaction.atomic():
            PlanReminder.objects.create(
                deadline=deadline,
                community=entry.community,
                due_date=deadline.due_date,
                kind=kind,
                recipient_count=len(recipients),
            )
            title, body = _reminder_text(community=entry.community, due_date=deadline.due_date, days_left=days_left)
            emit(
                event="brand_plan.reminder",
                data={
                    "kind": kind,
                    "community": entry.community_id,
                    "community_name": entry.community.name,
                    "deadline": deadline.pk,
                    "due_date": deadline.due_date.isoformat(),
                    "days_left": days_left,
                    "title": str(title),
                    "body": str(body),
                },
                audience=Audience.users(recipients),
            )
            # Also kept in each recipient's inbox: staff offline when the reminder runs read it
            # later (and get a subscribe message), as with every notice.
            notice_services.create_notice(
                sender=None,
                title=str(title)[:100],
                body=str(body),
                kind=Notice.Kind.BRAND,
                audience=Audience.users(recipients),
            )
    except IntegrityError:
        # A second run got here first: it sent this one.
        return False
    return True


# Honours ----------------------------------------------------------------------------------------


def _honor_street_id(*, brand: Brand | None, organization: PartyOrganization | None) -> int:
    if (brand is None) == (organization is None):
        raise field_error("non_field_errors", _("请在品牌和党组织中选择且只选择一个"))
    if brand is not None:
        if brand.status == Brand.Status.DRAFT:
            raise field_error("brand", _("品牌尚未发布"))
        return brand.community.street_id
    assert organization is not None
    if organization.street_id:
        return organization.street_id
    if organization.community_id:
        return organization.community.street_id
    raise field_error("organization", _("该党组织不属于任何街道, 请由其所在街道登记"))


def check_honor(*, actor: Any, brand: Brand | None, organization: PartyOrganization | None, awarded_on: date) -> int:
    street_id = _honor_street_id(brand=brand, organization=organization)
    if not can_manage_street(user=actor, street_id=street_id):
        raise _denied(_("只有本街道的管理员可以登记荣誉"))
    if awarded_on > timezone.localdate():
        raise field_error("awarded_on", _("授予日期不能晚于今天"))
    return street_id


@transaction.atomic
def create_honor(
    *,
    actor: Any,
    level: str,
    title: str,
    issuer: str,
    awarded_on: date,
    brand: Brand | None = None,
    organization: PartyOrganization | None = None,
) -> Honor:
    street_id = check_honor(actor=actor, brand=brand, organization=organization, awarded_on=awarded_on)
    return Honor.objects.create(
        street_id=street_id,
        brand=brand,
        organization=organization,
        level=level,
        title=title,
        issuer=issuer,
        awarded_on=awarded_on,
        created_by=actor if getattr(actor, "is_authenticated", False) else None,
    )


@transaction.atomic
def update_honor(*, actor: Any, honor: Honor, **changes: Any) -> Honor:
    unknown = set(changes) - HONOR_FIELDS
    if unknown:
        raise ValueError(f"not honor fields: {sorted(unknown)}")
    honor = Honor.objects.select_for_update().get(pk=honor.pk)
    if not can_manage_street(user=actor, street_id=honor.street_id):
        raise _denied(_("只有本街道的管理员可以修改荣誉"))
    # Naming one recipient replaces the other.
    if changes.get("brand") is not None:
        changes["organization"] = None
    elif changes.get("organization") is not None:
        changes["brand"] = None
    for name, value in changes.items():
        setattr(honor, name, value)
    honor.street_id = check_honor(
        actor=actor, brand=honor.brand, organization=honor.organization, awarded_on=honor.awarded_on
    )
    honor.save()
    return honor


@transaction.atomic
def delete_honor(*, actor: Any, honor: Honor) -> None:
    if not can_manage_street(user=actor, street_id=honor.street_id):
        raise _denied(_("只有本街道的管理员可以删除荣誉"))
    honor.delete()
