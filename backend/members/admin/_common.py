"""What the members' console pages share: read-only and audited pages, decision actions and forms."""

from __future__ import annotations

from functools import partial

from django import forms
from django.contrib import messages

from backend.accounts.audit import record_access, record_accesses
from backend.core.console import ReasonForm, action_form_page, decision
from backend.core.errors import DomainError

from ..models import (
    MemberRegistration,
)


class ReadOnlyMixin:
    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class AuditedMixin:
    """Records staff reads of the rows a list page or change page shows."""

    audit_what = ""

    def audit_subject(self, obj) -> int:  # pragma: no cover - each admin says whose data a row is
        raise NotImplementedError

    def record_export(self, request, objects) -> None:
        record_accesses(
            actor=request.user,
            reads=[(self.audit_subject(obj), obj.pk) for obj in objects],
            what=self.audit_what,
            path=request.get_full_path(),
        )

    def changelist_view(self, request, extra_context=None):
        response = super().changelist_view(request, extra_context)
        changelist = getattr(response, "context_data", {}).get("cl") if hasattr(response, "context_data") else None
        if changelist is not None:
            record_accesses(
                actor=request.user,
                reads=[(self.audit_subject(obj), obj.pk) for obj in changelist.result_list],
                what=self.audit_what,
                path=request.get_full_path(),
            )
        return response

    def change_view(self, request, object_id, form_url="", extra_context=None):
        response = super().change_view(request, object_id, form_url, extra_context)
        obj = getattr(response, "context_data", {}).get("original") if hasattr(response, "context_data") else None
        if obj is not None:
            record_access(
                actor=request.user,
                subject=self.audit_subject(obj),
                what=self.audit_what,
                object_id=obj.pk,
                path=request.get_full_path(),
            )
        return response


def _run(modeladmin, request, queryset, service, done: str) -> None:
    ok = 0
    for row in queryset:
        try:
            service(registration=row, by=request.user)
            ok += 1
        except DomainError as exc:
            modeladmin.message_user(request, f"{row}: {exc.detail}", messages.WARNING)
    if ok:
        modeladmin.message_user(request, done % {"n": ok}, messages.SUCCESS)


def _pending(registration) -> bool:
    # Member and unit registrations share their statuses.
    return registration.status == MemberRegistration.Status.PENDING


def _registration_decisions(*, approve, reject, what: str, approved: str, rejected: str):
    """The 通过 / 驳回 buttons of a registration's page (member or unit), through its services."""
    return (
        decision(
            "approve_one",
            description="通过",
            applies=_pending,
            run=lambda obj, data, user: approve(registration=obj, by=user),
            title=f"通过{what}",
            intro=approved,
            done=f"已通过{what}",
        ),
        decision(
            "reject_one",
            description="驳回",
            reject=True,
            applies=_pending,
            run=lambda obj, data, user: reject(registration=obj, by=user, reason=data["reason"]),
            form_class=RejectForm,
            title=f"驳回{what}",
            intro=rejected,
            done=f"已驳回{what}",
        ),
    )


class RejectForm(ReasonForm):
    reason = forms.CharField(label="驳回原因", max_length=500, widget=forms.Textarea(attrs={"rows": 3}))


class RevokeForm(forms.Form):
    reason = forms.CharField(label="注销原因", max_length=500, widget=forms.Textarea(attrs={"rows": 3}))


def _reject(modeladmin, request, queryset, service, done: str, *, form_class=RejectForm, **page):
    """Asks for the reason first (the member sees it), then rejects each through the service."""
    if "apply" in request.POST:
        form = form_class(request.POST)
        if form.is_valid():
            _run(modeladmin, request, queryset, partial(service, reason=form.cleaned_data["reason"]), done)
            return None
    else:
        form = form_class()
    texts = {
        "title": "驳回报到",
        "intro": "以下报到将被驳回, 申请人会看到驳回原因:",
        "action_name": "reject",
        "submit_label": "驳回",
        **page,
    }
    return action_form_page(modeladmin, request, queryset, form=form, **texts)
