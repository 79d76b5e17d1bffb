"""The console's notices: send one to a place in scope, see who has read what. Sent notices are final."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.db.models import Count, Q
from django.urls import reverse
from django.utils.html import format_html
from unfold.widgets import UnfoldAdminSelect2MultipleWidget

from backend.accounts.models import User
from backend.communities.models import Community, Grid, Street
from backend.core.console import ScopedAdmin
from backend.core.errors import DomainError
from backend.core.events import Audience, audience_choices
from backend.core.scoping import get_scope, limit_choices, scope_q

from . import selectors, services
from .models import Notice, NoticeReceipt, SubscribeConsent, SubscribeDelivery

CONSOLE_AUDIENCES = list(Notice.AudienceKind.choices)


def in_scope_or_sent_by(user, scope_paths: dict[str, str], sender_path: str) -> Q:
    """The places in the user's scope, and what they sent themselves (e.g. to named people)."""
    if get_scope(user).is_superuser:
        return Q()
    return scope_q(user, **scope_paths) | Q(**{sender_path: user.pk})


SEND_FIELDS = ["title", "body", "kind", "audience_kind", "street", "community", "grid", "activity", "users"]
# The picker each audience kind reads; the others are left as they are.
PICKERS = {
    Notice.AudienceKind.STREET: "street",
    Notice.AudienceKind.COMMUNITY: "community",
    Notice.AudienceKind.GRID: "grid",
    Notice.AudienceKind.ACTIVITY: "activity",
    Notice.AudienceKind.USERS: "users",
}


class GridChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Grid) -> str:
        return f"{obj.community.name}·{obj.name}"


class UserChoiceField(forms.ModelMultipleChoiceField):
    def label_from_instance(self, obj: User) -> str:
        # The name to find her by, the phone's tail to tell two 王芳 apart.
        return (
            f"{obj.real_name or '未实名'}（尾号 {obj.phone[-4:]}）" if obj.phone else obj.real_name or f"用户{obj.pk}"
        )


class NoticeSendForm(forms.ModelForm):
    """Who receives it, chosen by name among the places and people in the sender's scope."""

    audience_kind = forms.ChoiceField(label="接收范围", choices=CONSOLE_AUDIENCES)
    street = forms.ModelChoiceField(
        label="街道", queryset=Street.objects.none(), required=False, help_text="接收范围为街道时选择"
    )
    community = forms.ModelChoiceField(
        label="社区", queryset=Community.objects.none(), required=False, help_text="接收范围为社区时选择"
    )
    grid = GridChoiceField(label="网格", queryset=Grid.objects.none(), required=False, help_text="接收范围为网格时选择")
    # The activities app offers its activities through audience_choices (limit_to sets them).
    activity: forms.ModelChoiceField[Any] = forms.ModelChoiceField(
        label="活动",
        queryset=None,
        required=False,
        help_text="接收范围为活动时选择: 发给报名该活动的人",
    )
    users = UserChoiceField(
        label="指定用户",
        queryset=User.objects.none(),
        required=False,
        widget=UnfoldAdminSelect2MultipleWidget,
        help_text="接收范围为指定用户时选择, 可输入姓名查找",
    )

    class Meta:
        model = Notice
        fields = ["title", "body", "kind"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        kind = self.fields["kind"]
        if isinstance(kind, forms.ChoiceField):
            kind.choices = [c for c in Notice.Kind.choices if c[0] != Notice.Kind.SYSTEM]
        self.sender: User | None = None
        self.audience: Audience | None = None

    def _picker(self, name: str) -> forms.ModelChoiceField[Any]:
        field = self.fields[name]
        if not isinstance(field, forms.ModelChoiceField):
            raise TypeError(f"{name} is not a model choice field")
        return field

    def limit_to(self, sender: User) -> None:
        """Offer only what the sender may write to (the service checks again when it sends)."""
        self.sender = sender
        street, community, grid = self._picker("street"), self._picker("community"), self._picker("grid")
        choices = limit_choices(sender, Street)
        street.queryset = Street.objects.all() if choices is None else choices
        choices = limit_choices(sender, Community)
        community.queryset = Community.objects.all() if choices is None else choices
        choices = limit_choices(sender, Grid)
        grid.queryset = (Grid.objects.all() if choices is None else choices).select_related("community")
        self._picker("users").queryset = selectors.users_in_reach(sender).order_by("real_name", "pk")
        activities = audience_choices.get("activity")
        # Without a provider there is nothing to choose (and check_audience refuses the kind).
        self._picker("activity").queryset = activities(sender) if activities else Notice.objects.none()

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        kind = cleaned.get("audience_kind")
        if not kind:
            return cleaned
        picker = PICKERS[kind]
        if picker in self.errors:  # a choice outside the list offered: the field says so already
            return cleaned
        chosen = cleaned.get(picker)
        ids = tuple(row.pk for row in chosen or ()) if picker == "users" else ((chosen.pk,) if chosen else ())
        if not ids:
            self.add_error(picker, f"请选择接收的{Notice.AudienceKind(kind).label}")
            return cleaned
        audience = Audience(kind, ids)
        if self.sender is None:
            raise TypeError("limit_to names the sender before the form is cleaned")
        try:
            services.check_audience(sender=self.sender, audience=audience)
        except DomainError as exc:
            for message in (exc.fields or {}).get("audience", [str(exc.detail)]):
                self.add_error(picker, message)
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

            class BoundSendForm(form):  # type: ignore[valid-type,misc]  # a class get_form made
                def __init__(self, *args, **inner):
                    super().__init__(*args, **inner)
                    self.limit_to(request.user)

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
    # A notice's 回执 link opens the list on that notice's receipts.
    url_filters = ("notice__id__exact",)
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
