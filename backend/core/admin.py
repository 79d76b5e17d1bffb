from django import forms
from django.contrib import admin, messages
from django.utils.html import format_html, format_html_join

from . import moderation
from .console import ScopedAdmin, action_form_page, decision
from .errors import DomainError
from .models import ContentCheck, Upload

UPLOAD_FIELDS = (
    "preview",
    "file",
    "thumbnail",
    "kind",
    "content_type",
    "size",
    "width",
    "height",
    "sha256",
    "original_name",
    "owner",
    "created_at",
)


@admin.register(Upload)
class UploadAdmin(admin.ModelAdmin):
    """Uploads belong to the records that use them; here superusers can only look them up."""

    list_display = ["id", "original_name", "kind", "content_type", "size", "owner", "created_at"]
    list_filter = ["kind", "content_type"]
    search_fields = ["original_name", "sha256"]
    list_select_related = ["owner"]
    date_hierarchy = "created_at"
    fields = UPLOAD_FIELDS
    readonly_fields = UPLOAD_FIELDS

    @admin.display(description="预览")
    def preview(self, obj: Upload) -> str:
        if not obj.thumbnail:
            return "-"
        return format_html('<img src="{}" alt="" style="max-width:240px;max-height:240px">', obj.thumbnail.url)

    def has_module_permission(self, request):
        return request.user.is_active and request.user.is_superuser

    def has_view_permission(self, request, obj=None):
        return request.user.is_active and request.user.is_superuser

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class HoldForm(forms.Form):
    reason = forms.CharField(
        label="复核意见", max_length=500, widget=forms.Textarea(attrs={"rows": 3}), help_text="作者会看到"
    )


class DecisionForm(forms.Form):
    note = forms.CharField(
        label="复核意见",
        required=False,
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="作者会看到",
    )


# What `ContentCheck.reason` and WeChat's verdict say, for staff (the codes stay in the database).
CHECK_REASONS = {
    "wechat": "微信检测结果",
    "staff": "工作人员复核",
    "no_openid": "作者未绑定微信, 无法检测",
    "openid_unusable": "作者的微信身份不可用, 无法检测",
    "no_public_url": "图片无公开地址, 无法检测",
    "wechat_unavailable": "微信检测服务暂不可用",
}
WECHAT_SUGGESTIONS = {"pass": "通过", "review": "疑似", "risky": "违规"}
WECHAT_LABELS = {
    100: "正常",
    10001: "广告",
    20001: "时政",
    20002: "色情",
    20003: "辱骂",
    20006: "违法犯罪",
    20008: "欺诈",
    20012: "低俗",
    20013: "版权",
    21000: "其他",
}


@admin.register(ContentCheck)
class ContentCheckAdmin(ScopedAdmin):
    """内容审核: what WeChat could not decide alone waits here for staff in scope (never the author)."""

    scope_paths = {"community": "community_id"}
    staff_can_add = False
    staff_can_edit = False
    list_display = ["object_label", "field", "kind", "status", "reason_label", "wechat_label", "author", "created_at"]
    list_filter = ["status", "kind", "holds", "target"]
    list_select_related = ["author", "upload"]
    date_hierarchy = "created_at"
    fields = [
        "object_label",
        "content",
        "field",
        "kind",
        "holds",
        "status",
        "reason_label",
        "wechat_label",
        "author",
        "attempts",
        "sent_at",
        "checked_at",
        "decided_by",
        "decision_note",
        "created_at",
    ]
    readonly_fields = fields
    actions = ["approve", "reject"]
    actions_detail = ["pass_one", "hold_one"]
    actions_row = ["pass_one", "hold_one"]

    pass_one = decision(
        "pass_one",
        description="通过",
        applies=lambda check: check.status == ContentCheck.Status.REVIEW,
        run=lambda check, data, user: moderation.decide(check=check, by=user, approve=True),
        title="通过内容",
        intro="通过后内容对他人展示:",
        submit_label="通过",
        done="已通过内容",
    )
    hold_one = decision(
        "hold_one",
        description="不予展示",
        reject=True,
        applies=lambda check: check.status == ContentCheck.Status.REVIEW,
        run=lambda check, data, user: moderation.decide(check=check, by=user, approve=False, note=data["reason"]),
        form_class=HoldForm,
        title="不予展示",
        intro="内容将不对他人展示, 作者会收到通知和复核意见:",
        submit_label="不予展示",
        done="已设为不予展示",
    )

    def has_module_permission(self, request):
        return self._scope(request).is_staff

    def has_view_permission(self, request, obj=None):
        return self._scope(request).is_staff

    def has_add_permission(self, request):
        # Checks are made by moderation.submit() with the record they belong to; an empty add
        # form (every field read-only) would insert a check of nothing.
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description="内容")
    def object_label(self, obj: ContentCheck) -> str:
        what, title = moderation.describe(obj)
        return f"{what} #{obj.object_id} {title}".strip()

    @admin.display(description="微信标签")
    def wechat_label(self, obj: ContentCheck) -> str:
        if not obj.suggest:
            return "-"
        label = WECHAT_LABELS.get(obj.label, f"类别 {obj.label}") if obj.label is not None else ""
        return f"{WECHAT_SUGGESTIONS.get(obj.suggest, obj.suggest)} {label}".strip()

    @admin.display(description="说明", ordering="reason")
    def reason_label(self, obj: ContentCheck) -> str:
        return CHECK_REASONS.get(obj.reason, obj.reason) or "-"

    @admin.display(description="检测内容")
    def content(self, obj: ContentCheck) -> str:
        if obj.kind == ContentCheck.Kind.MEDIA:
            image = obj.upload.thumbnail if obj.upload and obj.upload.thumbnail else getattr(obj.upload, "file", None)
            if not image:
                return "-"
            return format_html('<img src="{}" alt="" style="max-width:360px;max-height:360px">', image.url)
        text = moderation.current_text(obj) or ""
        return format_html_join("", "<p>{}</p>", ((line,) for line in text.splitlines() if line.strip())) or "-"

    def _decide(self, request, queryset, *, approve: bool, note: str) -> None:
        ok = 0
        for check in queryset:
            try:
                moderation.decide(check=check, by=request.user, approve=approve, note=note)
                ok += 1
            except DomainError as exc:
                self.message_user(request, f"{self.object_label(check)}: {exc.detail}", messages.WARNING)
        if ok:
            self.message_user(request, f"已{'通过' if approve else '驳回'} {ok} 项", messages.SUCCESS)

    @admin.action(description="通过所选内容(对他人展示)")
    def approve(self, request, queryset):
        self._decide(request, queryset, approve=True, note="")

    @admin.action(description="驳回所选内容(填写意见, 作者会收到通知)")
    def reject(self, request, queryset):
        if "apply" in request.POST:
            form = DecisionForm(request.POST)
            if form.is_valid():
                self._decide(request, queryset, approve=False, note=form.cleaned_data["note"])
                return None
        else:
            form = DecisionForm()
        return action_form_page(
            self,
            request,
            queryset,
            form=form,
            title="驳回内容",
            intro="以下内容将不对他人展示, 作者会收到通知:",
            action_name="reject",
            submit_label="驳回",
        )
