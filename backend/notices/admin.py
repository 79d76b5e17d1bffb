"""The console's notices: send one to a place in scope, see who has read what. Sent notices are final."""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.db.models import Count, Q
from django.urls import reverse
from django.utils.html import format_html

from backend.core.console import ScopedAdmin
from backend.core.errors import DomainError
from backend.core.events import Audience
from backend.core.scoping import get_scope, scope_q

from . import services
from .models import Notice, NoticeReceipt, SubscribeConsent, SubscribeDelivery

CONSOLE_AUDIENCES = [(kind.value, kind.label) for kind in Notice.AudienceKind if kind != Notice.AudienceKind.ACTIVITY]


def in_scope_or_sent_by(user, scope_paths: dict[str, str], sender_path: str) -> Q:
    """The places in the user's scope, and what they sent themselves (e.g. to named people)."""
    if get_scope(user).is_superuser:
        return Q()
    return scope_q(user, **scope_paths) | Q(**{sender_path: user.pk})


SEND_FIELDS = ["title", "body", "kind", "audience_kind", "audience_text"]


class NoticeSendForm(forms.ModelForm):
    audience_kind = forms.ChoiceField(label="接收范围", choices=CONSOLE_AUDIENCES)
    audience_text = forms.CharField(
        label="范围 id", help_text="街道、社区或网格的 id；指定用户时填写用户 id，以逗号分隔", max_length=4000
    )

    class Meta:
        model = Notice
        fields = ["title", "body", "kind"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["kind"].choices = [c for c in Notice.Kind.choices if c[0] != Notice.Kind.SYSTEM]
        self.sender = None
        self.audience: Audience | None = None

    def clean(self):
        cleaned = super().clean()
        text = cleaned.get("audience_text") or ""
        kind = cleaned.get("audience_kind")
        try:
            ids = tuple(dict.fromkeys(int(part) for part in text.replace("，", ",").split(",") if part.strip()))
        except ValueError:
            self.add_error("audience_text", "请填写数字 id，以逗号分隔")
            return cleaned
        if not kind or not ids:
            self.add_error("audience_text", "请指定接收范围")
            return cleaned
        if kind != Notice.AudienceKind.USERS and len(ids) != 1:
            self.add_error("audience_text", "街道、社区、网格只能填写一个 id")
            return cleaned
        audience = Audience(kind, ids)
        try:
            services.check_audience(sender=self.sender, audience=audience)
        except DomainError as exc:
            for message in (exc.fields or {}).get("audience", [str(exc.detail)]):
                self.add_error("audience_text", message)
            return cleaned
        self.audience = audience
        return cleaned


@admin.register(Notice)
class NoticeAdmin(ScopedAdmin):
    list_display = ["title", "kind", "audience_label", "sender", "recipient_count", "read_figure", "created_at"]
    list_filter = ["kind", "audience_kind"]
    search_fields = ["title", "body"]
    list_select_related = ["sender"]
    scope_paths = {"community": "community", "street": "street"}
    staff_can_edit = False
    readonly_fields = [
        "title",
        "body",
        "kind",
        "audience_label",
        "attachments",
        "sender",
        "recipient_count",
        "read_figure",
        "receipts_link",
        "created_at",
    ]

    def get_queryset(self, request):
        notices = Notice.objects.filter(in_scope_or_sent_by(request.user, self.scope_paths, "sender_id"))
        return notices.annotate(read_total=Count("receipts", filter=Q(receipts__read_at__isnull=False)))

    def get_form(self, request, obj=None, change=False, **kwargs):
        if obj is None:
            kwargs["form"] = NoticeSendForm
            form = super().get_form(request, obj, change=change, **kwargs)

            class BoundSendForm(form):
                def __init__(self, *args, **inner):
                    super().__init__(*args, **inner)
                    self.sender = request.user

            return BoundSendForm
        return super().get_form(request, obj, change=change, **kwargs)

    def get_readonly_fields(self, request, obj=None):
        return self.readonly_fields if obj is not None else []

    def get_fields(self, request, obj=None):
        return self.readonly_fields if obj is not None else SEND_FIELDS

    def has_change_permission(self, request, obj=None):
        # A notice is sent, never edited: its page shows what went out (superusers too).
        return False

    def save_model(self, request, obj, form, change):
        # Sent through the service, like the API: the receipts, the ordering lock and the live send.
        notice = services.create_notice(
            sender=request.user,
            title=form.cleaned_data["title"],
            body=form.cleaned_data["body"],
            kind=form.cleaned_data["kind"],
            audience=form.audience,
        )
        obj.pk = notice.pk
        obj.created_at = notice.created_at
        obj.recipient_count = notice.recipient_count
        obj._state.adding = False

    @admin.display(description="接收范围")
    def audience_label(self, obj: Notice) -> str:
        label = Notice.AudienceKind(obj.audience_kind).label
        return f"{label} {', '.join(map(str, obj.audience_ids))}"

    @admin.display(description="已读")
    def read_figure(self, obj: Notice) -> str:
        read = getattr(obj, "read_total", None)
        if read is None:
            read = obj.receipts.filter(read_at__isnull=False).count()
        return f"{read} / {obj.recipient_count}"

    @admin.display(description="回执")
    def receipts_link(self, obj: Notice) -> str:
        url = reverse("admin:notices_noticereceipt_changelist") + f"?notice__id__exact={obj.pk}"
        return format_html('<a href="{}">查看谁已读、谁未读</a>', url)


@admin.register(NoticeReceipt)
class NoticeReceiptAdmin(ScopedAdmin):
    ledger_export = True
    list_display = ["notice", "user", "read_at"]
    list_filter = [("read_at", admin.EmptyFieldListFilter)]
    search_fields = ["user__real_name", "notice__title"]
    list_select_related = ["notice", "user"]
    raw_id_fields = ["notice", "user"]
    scope_paths = {"community": "notice__community", "street": "notice__street"}
    staff_can_add = False
    staff_can_edit = False

    def get_queryset(self, request):
        receipts = NoticeReceipt.objects.select_related("notice", "user")
        return receipts.filter(in_scope_or_sent_by(request.user, self.scope_paths, "notice__sender_id"))


class SuperuserOnlyAdmin(admin.ModelAdmin):
    """Delivery plumbing and consents: for whoever runs the service, not for community staff."""

    def has_module_permission(self, request):
        return request.user.is_superuser

    def has_view_permission(self, request, obj=None):
        return request.user.is_superuser

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(SubscribeDelivery)
class SubscribeDeliveryAdmin(SuperuserOnlyAdmin):
    list_display = ["notice", "user", "template_id", "status", "attempts", "errcode", "updated_at"]
    list_filter = ["status", "template_id"]
    raw_id_fields = ["notice", "user"]
    list_select_related = ["notice", "user"]


@admin.register(SubscribeConsent)
class SubscribeConsentAdmin(SuperuserOnlyAdmin):
    list_display = ["user", "template_id", "remaining", "accepted_total", "last_accepted_at", "last_rejected_at"]
    list_filter = ["template_id"]
    raw_id_fields = ["user"]
