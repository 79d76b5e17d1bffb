"""The console for secretaries: activities to prepare, publish and cancel; leave to decide; minutes;
the attendance ledger to read and download. Every change goes through the services."""

from __future__ import annotations

from typing import cast

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ActionForm
from django.urls import reverse
from django.utils.html import format_html

from backend.brands.models import Brand
from backend.brands.selectors import staff_brands
from backend.core.console import ScopedAdmin, decision, form_error_from
from backend.core.errors import DomainError
from backend.core.map_picker import map_picker_field

from . import services
from .models import Activity, CheckIn, Enrollment, LeaveRequest, Minutes


class ReadOnlyMixin:
    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class ReasonActionForm(ActionForm):
    reason = forms.CharField(label="原因/意见", required=False, max_length=500)


def _run(modeladmin, request, queryset, call, done: str) -> None:
    ok = 0
    for row in queryset:
        try:
            call(row)
            ok += 1
        except DomainError as exc:
            detail = "; ".join(f"{k}: {' '.join(v)}" for k, v in exc.fields.items()) if exc.fields else exc.detail
            modeladmin.message_user(request, f"{row}: {detail}", messages.WARNING)
    if ok:
        modeladmin.message_user(request, done % {"n": ok}, messages.SUCCESS)


class ActivityForm(forms.ModelForm):
    map = map_picker_field()

    class Meta:
        model = Activity
        # The cover is an upload from the mini-program or the API, not a console field.
        fields = ["community", *(name for name in services.EDITABLE_FIELDS if name != "cover")]

    class Media:
        js = ["console/activity_form.js"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # A saved place gives the position and the place text; only without one are they asked for.
        for name in ("place", "latitude", "longitude"):
            if name in self.fields:
                self.fields[name].required = False
        if "category" in self.fields:
            # activity_form.js turns 须报名 off for these while the secretary has not set it herself.
            self.fields["category"].widget.attrs["data-open-door"] = " ".join(Activity.OPEN_DOOR_CATEGORIES)
        if "venue" in self.fields:
            venue = cast(forms.ModelChoiceField, self.fields["venue"])
            # Django's documented way to label a ModelChoiceField's options.
            venue.label_from_instance = lambda obj: f"{obj.community.name}·{obj.name}"  # type: ignore[method-assign]

    def clean(self):
        super().clean()
        cleaned = self.cleaned_data
        if cleaned.get("venue") is not None:
            return cleaned
        for name, text in (
            ("latitude", "请选择活动场所, 或在地图上选点"),
            ("longitude", "请选择活动场所, 或在地图上选点"),
            ("place", "请选择活动场所, 或填写地点"),
        ):
            if name in self.fields and cleaned.get(name) in (None, "") and name not in self.errors:
                self.add_error(name, text)
        return cleaned

    def _post_clean(self):
        # The instance holds the form's values only from here on: check them with the services' rules.
        super()._post_clean()  # type: ignore[misc]  # Django's own hook; the stubs do not declare it
        if self.errors:
            return
        instance = self.instance
        if instance.pk and instance.status not in (Activity.Status.DRAFT, Activity.Status.PUBLISHED):
            self.add_error(None, "已结束或已取消的活动不能修改")
            return
        try:
            services.validate_activity(instance)
        except DomainError as exc:
            self.add_error(None, form_error_from(exc, set(self.fields)))


@admin.register(Activity)
class ActivityAdmin(ScopedAdmin):
    ledger_export = True
    form = ActivityForm
    action_form = ReasonActionForm
    list_display = ["title", "community", "category", "starts_at", "place", "status", "ledger_link"]
    list_filter = ["status", "category", "audience", "community"]
    search_fields = ["title", "place"]
    date_hierarchy = "starts_at"
    list_select_related = ["community"]
    fields = [
        "community",
        "title",
        "category",
        "description",
        "starts_at",
        "ends_at",
        "venue",
        "place",
        "map",
        "latitude",
        "longitude",
        "radius_m",
        "capacity",
        "enrollment_required",
        "enrollment_deadline",
        "audience",
        "branch",
        "counts_as_service",
        "points",
        "brand",
        "checkin_opens_before_minutes",
        "checkout_closes_after_minutes",
        "status",
        "organiser",
        "published_at",
        "finished_at",
        "cancelled_at",
        "cancel_reason",
        "ledger_link",
    ]
    readonly_fields = [
        "status",
        "organiser",
        "published_at",
        "finished_at",
        "cancelled_at",
        "cancel_reason",
        "ledger_link",
    ]
    actions = ["publish", "cancel"]
    actions_detail = ["publish_one"]

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        # Only brands of the user's own communities are offered (another's was listed, then refused).
        if db_field.name == "brand":
            kwargs["queryset"] = staff_brands(request.user).exclude(status=Brand.Status.RETIRED)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    publish_one = decision(
        "publish_one",
        description="发布",
        icon="campaign",
        applies=lambda obj: obj.status == Activity.Status.DRAFT,
        run=lambda obj, data, user: services.publish_activity(activity=obj, by=user),
        title="发布活动",
        intro="发布后活动对面向对象可见, 并发出活动通知:",
        done="活动已发布",
    )

    def get_readonly_fields(self, request, obj=None):
        fields = list(super().get_readonly_fields(request, obj))
        if obj is not None:
            fields.append("community")
        return fields

    def save_model(self, request, obj, form, change):
        values = {name: form.cleaned_data[name] for name in services.EDITABLE_FIELDS if name in form.cleaned_data}
        if change:
            saved = services.update_activity(activity=obj, by=request.user, **values)
        else:
            saved = services.create_activity(by=request.user, community=form.cleaned_data["community"], **values)
        obj.pk = saved.pk
        obj.refresh_from_db()

    @admin.display(description="签到台账")
    def ledger_link(self, obj):
        if obj is None or obj.pk is None or obj.status == Activity.Status.DRAFT:
            return "—"
        url = reverse("activity-attendance-export", kwargs={"pk": obj.pk})
        page = reverse("console-attendance", kwargs={"activity_id": obj.pk})
        return format_html('<a href="{}">出勤与人工登记</a> · <a href="{}">下载 Excel</a>', page, url)

    @admin.action(description="发布所选活动(通知面向对象)")
    def publish(self, request, queryset):
        _run(
            self,
            request,
            queryset,
            lambda activity: services.publish_activity(activity=activity, by=request.user),
            "已发布 %(n)d 个活动",
        )

    @admin.action(description="取消所选活动(须在上方填写原因)")
    def cancel(self, request, queryset):
        reason = request.POST.get("reason", "")
        _run(
            self,
            request,
            queryset,
            lambda activity: services.cancel_activity(activity=activity, by=request.user, reason=reason),
            "已取消 %(n)d 个活动",
        )


@admin.register(Enrollment)
class EnrollmentAdmin(ReadOnlyMixin, ScopedAdmin):
    ledger_export = True
    scope_paths = {"community": "activity__community", "street": "activity__community__street"}
    list_display = ["activity", "user", "status", "created_at", "promoted_at", "withdrawn_at"]
    list_filter = ["status"]
    search_fields = ["activity__title", "user__real_name"]
    list_select_related = ["activity", "user"]
    raw_id_fields = ["activity", "user"]


@admin.register(CheckIn)
class CheckInAdmin(ReadOnlyMixin, ScopedAdmin):
    ledger_export = True
    scope_paths = {"community": "activity__community", "street": "activity__community__street"}
    list_display = ["activity", "user", "kind", "at", "manual", "distance_m", "inside", "recorded_by", "reason"]
    list_filter = ["kind", "manual", "inside"]
    search_fields = ["activity__title", "user__real_name"]
    list_select_related = ["activity", "user", "recorded_by"]
    raw_id_fields = ["activity", "user", "recorded_by"]


@admin.register(LeaveRequest)
class LeaveRequestAdmin(ReadOnlyMixin, ScopedAdmin):
    ledger_export = True
    scope_paths = {"community": "activity__community", "street": "activity__community__street"}
    action_form = ReasonActionForm
    list_display = ["activity", "user", "reason", "status", "requested_at", "decided_by", "decision_note"]
    list_filter = ["status"]
    search_fields = ["activity__title", "user__real_name"]
    list_select_related = ["activity", "user", "decided_by"]
    actions = ["approve", "reject"]
    actions_detail = ["approve_one", "reject_one"]
    actions_row = ["approve_one", "reject_one"]

    approve_one = decision(
        "approve_one",
        description="批准",
        applies=lambda leave: leave.status == LeaveRequest.Status.PENDING,
        run=lambda leave, data, user: services.approve_leave(leave=leave, by=user),
        title="批准请假",
        intro="批准后该党员本次记为请假, 不计缺席; 本人会收到通知:",
        submit_label="批准",
        done="已批准请假",
    )
    reject_one = decision(
        "reject_one",
        description="不批准",
        reject=True,
        applies=lambda leave: leave.status == LeaveRequest.Status.PENDING,
        run=lambda leave, data, user: services.reject_leave(leave=leave, by=user, note=data["reason"]),
        title="不批准请假",
        intro="不批准的理由会告知本人:",
        done="已不批准请假",
    )

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in LeaveRequest._meta.fields]

    @admin.action(description="批准所选请假")
    def approve(self, request, queryset):
        note = request.POST.get("reason", "")
        _run(
            self,
            request,
            queryset,
            lambda leave: services.approve_leave(leave=leave, by=request.user, note=note),
            "已批准 %(n)d 条",
        )

    @admin.action(description="不批准所选请假(须在上方填写意见)")
    def reject(self, request, queryset):
        note = request.POST.get("reason", "")
        _run(
            self,
            request,
            queryset,
            lambda leave: services.reject_leave(leave=leave, by=request.user, note=note),
            "已驳回 %(n)d 条",
        )


class MinutesForm(forms.ModelForm):
    class Meta:
        model = Minutes
        fields = ["activity", "topics", "decisions", "content"]

    def clean(self):
        super().clean()
        cleaned = self.cleaned_data
        activity = cleaned.get("activity") or getattr(self.instance, "activity", None)
        if activity is not None:
            try:
                services.check_minutes_open(activity)
            except DomainError as exc:
                raise form_error_from(exc, set(self.fields)) from exc
        return cleaned


@admin.register(Minutes)
class MinutesAdmin(ScopedAdmin):
    scope_paths = {"community": "activity__community", "street": "activity__community__street"}
    form = MinutesForm
    list_display = ["activity", "recorded_by", "recorded_at", "updated_by", "updated_at"]
    search_fields = ["activity__title", "topics", "decisions"]
    list_select_related = ["activity", "recorded_by", "updated_by"]
    readonly_fields = ["recorded_by", "recorded_at", "updated_by", "updated_at"]

    def get_readonly_fields(self, request, obj=None):
        fields = list(super().get_readonly_fields(request, obj))
        return [*fields, "activity"] if obj is not None else fields

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "activity":
            from .selectors import manageable_activities

            kwargs["queryset"] = manageable_activities(request.user).filter(category__in=Activity.MEETING_CATEGORIES)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def save_model(self, request, obj, form, change):
        activity = obj.activity if change else form.cleaned_data["activity"]
        try:
            saved = services.record_minutes(
                activity=activity,
                by=request.user,
                topics=form.cleaned_data["topics"],
                decisions=form.cleaned_data.get("decisions", ""),
                content=form.cleaned_data.get("content", ""),
            )
        except DomainError as exc:
            self.message_user(request, str(exc.detail), messages.ERROR)
            return
        obj.pk = saved.pk
        obj.refresh_from_db()
