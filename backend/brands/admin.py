"""The console for brands: communities keep their brand and plans, the street sets deadlines and reviews.

Every write goes through the services, as the API's do; forms ask the services' checks first so a
refusal shows beside the field instead of failing the save.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages

from backend.core.console import ScopedAdmin, action_form_page, decision
from backend.core.errors import DomainError
from backend.core.scoping import get_scope

from . import selectors, services
from .models import Brand, BrandDeadline, BrandPlan, Honor, PlanReminder


def _add_domain_error(form: forms.BaseForm, exc: DomainError, default_field: str | None = None) -> None:
    if exc.fields:
        for name, errors in exc.fields.items():
            field = name if name in form.fields else None
            for message in errors:
                form.add_error(field, message)
    else:
        form.add_error(default_field if default_field in form.fields else None, str(exc.detail))


def _run_action(modeladmin: admin.ModelAdmin, request, queryset, call, done: str) -> None:
    """Apply a service to each selected row; one refusal does not stop the others."""
    ok = 0
    for obj in queryset:
        try:
            call(obj)
        except DomainError as exc:
            modeladmin.message_user(request, f"{obj}: {exc.detail}", messages.ERROR)
        else:
            ok += 1
    if ok:
        modeladmin.message_user(request, done.format(count=ok), messages.SUCCESS)


# Brands -----------------------------------------------------------------------------------------


class BrandForm(forms.ModelForm):
    method_steps_text = forms.CharField(
        label="工作法步骤", required=False, widget=forms.Textarea(attrs={"rows": 5}), help_text="每行一个步骤"
    )

    class Meta:
        model = Brand
        fields = ["community", "name", "slogan", "description", "method_name", "method_problem"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.fields["method_steps_text"].initial = "\n".join(self.instance.method_steps or [])

    def clean_method_steps_text(self) -> list[str]:
        lines = [line.strip() for line in self.cleaned_data.get("method_steps_text", "").splitlines()]
        return [line for line in lines if line]


@admin.register(Brand)
class BrandAdmin(ScopedAdmin):
    form = BrandForm
    list_display = ["name", "community", "status", "published_at", "updated_at"]
    list_filter = ["status", "community"]
    search_fields = ["name", "slogan", "community__name"]
    list_select_related = ["community"]
    scope_paths = {"community": "community", "street": "community__street"}
    readonly_fields = ["logo", "status", "published_at", "retired_at", "created_by", "created_at", "updated_at"]
    actions = ["publish", "retire"]

    def get_fields(self, request, obj=None):
        fields = ["community", "name", "slogan", "description", "method_name", "method_problem", "method_steps_text"]
        return [*fields, *self.readonly_fields] if obj is not None else fields

    def get_readonly_fields(self, request, obj=None):
        # A brand stays with its community.
        return ["community", *self.readonly_fields] if obj is not None else []

    def has_change_permission(self, request, obj=None):
        # A retired brand is history: shown, never changed.
        if obj is not None and obj.status == Brand.Status.RETIRED:
            return False
        return super().has_change_permission(request, obj)

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        fields = {
            "name": data["name"],
            "slogan": data.get("slogan", ""),
            "description": data.get("description", ""),
            "method_name": data.get("method_name", ""),
            "method_problem": data.get("method_problem", ""),
            "method_steps": data.get("method_steps_text", []),
        }
        if change:
            brand = services.update_brand(by=request.user, brand=obj, **fields)
        else:
            brand = services.create_brand(by=request.user, community=data["community"], **fields)
        obj.pk = brand.pk
        obj._state.adding = False

    @admin.action(description="发布所选品牌(替换该社区正在使用的品牌)")
    def publish(self, request, queryset):
        _run_action(
            self,
            request,
            queryset,
            lambda b: services.publish_brand(by=request.user, brand=b),
            "已发布 {count} 个品牌",
        )

    @admin.action(description="停用所选品牌")
    def retire(self, request, queryset):
        _run_action(
            self,
            request,
            queryset,
            lambda b: services.retire_brand(by=request.user, brand=b),
            "已停用 {count} 个品牌",
        )


# Plans ------------------------------------------------------------------------------------------


class PlanForm(forms.ModelForm):
    class Meta:
        model = BrandPlan
        fields = ["brand", "content"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.actor = None

    def clean(self):
        cleaned = super().clean()
        brand = cleaned.get("brand")
        try:
            if self.instance.pk is None and brand is not None:
                services.check_new_plan(by=self.actor, brand=brand)
            elif self.instance.pk is not None and self.instance.status != BrandPlan.Status.DRAFT:
                raise DomainError("invalid_transition", "只有草稿可以修改; 退回的方案请编写新版本")
        except DomainError as exc:
            _add_domain_error(self, exc, "brand")
        return cleaned


class ReturnForm(forms.Form):
    comments = forms.CharField(label="修改意见", widget=forms.Textarea(attrs={"rows": 6}), max_length=2000)


@admin.register(BrandPlan)
class BrandPlanAdmin(ScopedAdmin):
    form = PlanForm
    list_display = ["brand", "version", "status", "submitted_at", "reviewed_by", "reviewed_at"]
    list_filter = ["status", "brand__community"]
    search_fields = ["brand__name", "brand__community__name", "content"]
    list_select_related = ["brand__community", "reviewed_by"]
    scope_paths = {"community": "brand__community", "street": "brand__community__street"}
    readonly_fields = [
        "version",
        "year",
        "status",
        "attachments_list",
        "author",
        "submitted_at",
        "submitted_by",
        "reviewed_at",
        "reviewed_by",
        "review_comments",
        "created_at",
    ]
    actions = ["submit", "approve", "return_plans"]
    actions_detail = ["approve_one", "return_one"]
    actions_row = ["approve_one", "return_one"]

    def has_decide_permission(self, request, obj=None):
        # Reviewing is the street's: community staff do not see the buttons.
        scope = get_scope(request.user)
        return scope.is_superuser or bool(scope.street_ids)

    approve_one = decision(
        "approve_one",
        description="审核通过",
        applies=lambda obj: obj.status == BrandPlan.Status.SUBMITTED,
        run=lambda plan, data, user: services.approve_plan(by=user, plan=plan),
        title="审核通过方案",
        intro="通过后方案成为该品牌本年度的执行方案:",
        submit_label="通过",
        done="已通过方案",
    )
    return_one = decision(
        "return_one",
        description="退回修改",
        reject=True,
        icon="undo",
        applies=lambda obj: obj.status == BrandPlan.Status.SUBMITTED,
        run=lambda plan, data, user: services.return_plan(by=user, plan=plan, comments=data["comments"]),
        form_class=ReturnForm,
        title="退回方案",
        intro="社区按修改意见编写新版本后重新提交:",
        submit_label="退回",
        done="已退回方案",
    )

    def get_fields(self, request, obj=None):
        return ["brand", "content", *self.readonly_fields] if obj is not None else ["brand", "content"]

    def get_readonly_fields(self, request, obj=None):
        return ["brand", *self.readonly_fields] if obj is not None else []

    def has_change_permission(self, request, obj=None):
        # Handed in or reviewed, a version is a record: a change is a new version.
        if obj is not None and obj.status != BrandPlan.Status.DRAFT:
            return False
        return super().has_change_permission(request, obj)

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)

        class BoundPlanForm(form):
            def __init__(self, *args, **inner):
                super().__init__(*args, **inner)
                self.actor = request.user

        return BoundPlanForm

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "brand":
            kwargs["queryset"] = selectors.staff_brands(request.user).exclude(status=Brand.Status.RETIRED)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def save_model(self, request, obj, form, change):
        if change:
            plan = services.update_plan(by=request.user, plan=obj, content=form.cleaned_data["content"])
        else:
            plan = services.create_plan(
                by=request.user, brand=form.cleaned_data["brand"], content=form.cleaned_data["content"]
            )
        # The service numbers the version: the saved row, not the form's, is what the
        # "added" message and the history name (it read "第None版" before).
        obj.pk = plan.pk
        obj._state.adding = False
        obj.refresh_from_db()

    @admin.display(description="附件")
    def attachments_list(self, obj: BrandPlan) -> str:
        return "、".join(str(upload) for upload in obj.ordered_attachments) or "-"

    def get_actions(self, request):
        actions = super().get_actions(request)
        scope = get_scope(request.user)
        if not (scope.is_superuser or scope.street_ids):
            # Reviewing is the street's: community staff do not even see the buttons.
            actions.pop("approve", None)
            actions.pop("return_plans", None)
        return actions

    @admin.action(description="提交所选方案给街道审核")
    def submit(self, request, queryset):
        _run_action(
            self, request, queryset, lambda p: services.submit_plan(by=request.user, plan=p), "已提交 {count} 份方案"
        )

    @admin.action(description="审核通过所选方案")
    def approve(self, request, queryset):
        _run_action(
            self,
            request,
            queryset,
            lambda p: services.approve_plan(by=request.user, plan=p),
            "已通过 {count} 份方案",
        )

    @admin.action(description="退回所选方案(填写修改意见)")
    def return_plans(self, request, queryset):
        if "apply" in request.POST:
            form = ReturnForm(request.POST)
            if form.is_valid():
                comments = form.cleaned_data["comments"]
                _run_action(
                    self,
                    request,
                    queryset,
                    lambda p: services.return_plan(by=request.user, plan=p, comments=comments),
                    "已退回 {count} 份方案",
                )
                return None
        else:
            form = ReturnForm()
        return action_form_page(
            self,
            request,
            queryset,
            form=form,
            title="退回方案",
            intro="以下方案将退回社区修改, 社区修改后以新版本重新提交:",
            action_name="return_plans",
            submit_label="退回",
        )


# Deadlines and honours: the street's records ------------------------------------------------------


class StreetAdminWrites:
    """Only street admins (and superusers) add, change or delete; `street_only_view` hides it from others."""

    street_only_view = False

    def _is_street_admin(self, request) -> bool:
        scope = get_scope(request.user)
        return scope.is_superuser or bool(scope.street_ids)

    def has_module_permission(self, request):
        return self._is_street_admin(request) if self.street_only_view else super().has_module_permission(request)

    def has_view_permission(self, request, obj=None):
        return self._is_street_admin(request) if self.street_only_view else super().has_view_permission(request, obj)

    def has_add_permission(self, request):
        return self._is_street_admin(request)

    def has_change_permission(self, request, obj=None):
        return self._is_street_admin(request)

    def has_delete_permission(self, request, obj=None):
        return self._is_street_admin(request)


class DeadlineForm(forms.ModelForm):
    communities = forms.ModelMultipleChoiceField(label="社区", queryset=None, widget=forms.CheckboxSelectMultiple)

    class Meta:
        model = BrandDeadline
        fields = ["street", "title", "due_date"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.actor = None
        if self.instance.pk:
            self.fields["communities"].initial = list(self.instance.communities.values_list("pk", flat=True))

    def clean(self):
        cleaned = super().clean()
        street = cleaned.get("street") or (self.instance.street if self.instance.pk else None)
        due_date, communities = cleaned.get("due_date"), cleaned.get("communities")
        if street is None or due_date is None or communities is None:
            return cleaned
        try:
            services.check_deadline(
                by=self.actor,
                street=street,
                due_date=due_date,
                communities=list(communities),
                deadline=self.instance if self.instance.pk else None,
            )
        except DomainError as exc:
            _add_domain_error(self, exc, "communities")
        return cleaned


@admin.register(BrandDeadline)
class BrandDeadlineAdmin(StreetAdminWrites, ScopedAdmin):
    form = DeadlineForm
    list_display = ["__str__", "street", "due_date", "community_names"]
    list_filter = ["street"]
    search_fields = ["title"]
    list_select_related = ["street"]
    scope_paths = {"street": "street"}
    street_only_view = True

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("communities")

    def get_readonly_fields(self, request, obj=None):
        return ["street"] if obj is not None else []

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)

        class BoundDeadlineForm(form):
            def __init__(self, *args, **inner):
                super().__init__(*args, **inner)
                self.actor = request.user
                street_id = obj.street_id if obj is not None else None
                self.fields["communities"].queryset = selectors.deadline_community_choices(
                    request.user, street_id=street_id
                )

        return BoundDeadlineForm

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        if change:
            deadline = services.update_deadline(
                by=request.user,
                deadline=obj,
                due_date=data["due_date"],
                communities=list(data["communities"]),
                title=data.get("title", ""),
            )
        else:
            deadline = services.create_deadline(
                by=request.user,
                street=data["street"],
                due_date=data["due_date"],
                communities=list(data["communities"]),
                title=data.get("title", ""),
            )
        obj.pk = deadline.pk
        obj._state.adding = False

    def delete_model(self, request, obj):
        services.delete_deadline(by=request.user, deadline=obj)

    @admin.display(description="社区")
    def community_names(self, obj: BrandDeadline) -> str:
        return "、".join(c.name for c in obj.communities.all())


# Honours ----------------------------------------------------------------------------------------


class HonorForm(forms.ModelForm):
    class Meta:
        model = Honor
        fields = ["brand", "organization", "level", "title", "issuer", "awarded_on"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.actor = None

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("awarded_on") is None:
            return cleaned
        try:
            services.check_honor(
                by=self.actor,
                brand=cleaned.get("brand"),
                organization=cleaned.get("organization"),
                awarded_on=cleaned["awarded_on"],
            )
        except DomainError as exc:
            _add_domain_error(self, exc)
        return cleaned


@admin.register(Honor)
class HonorAdmin(StreetAdminWrites, ScopedAdmin):
    form = HonorForm
    list_display = ["title", "level", "brand", "organization", "issuer", "awarded_on"]
    list_filter = ["level", "street"]
    search_fields = ["title", "issuer"]
    list_select_related = ["brand", "organization", "street"]
    scope_paths = {"street": "street", "community": "brand__community"}

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)

        class BoundHonorForm(form):
            def __init__(self, *args, **inner):
                super().__init__(*args, **inner)
                self.actor = request.user

        return BoundHonorForm

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "brand":
            kwargs["queryset"] = selectors.honorable_brands(request.user)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def save_model(self, request, obj, form, change):
        data = {name: form.cleaned_data.get(name) for name in HonorForm.Meta.fields}
        if change:
            honor = services.update_honor(by=request.user, honor=obj, **data)
        else:
            honor = services.create_honor(by=request.user, **data)
        obj.pk = honor.pk
        obj._state.adding = False

    def delete_model(self, request, obj):
        services.delete_honor(by=request.user, honor=obj)


@admin.register(PlanReminder)
class PlanReminderAdmin(ScopedAdmin):
    list_display = ["community", "deadline", "due_date", "kind", "recipient_count", "sent_at"]
    list_filter = ["kind", "community"]
    list_select_related = ["community", "deadline"]
    scope_paths = {"community": "community", "street": "community__street"}
    staff_can_add = False
    staff_can_edit = False
