"""An activity's attendance page: 应到/实到/请假/缺席, everyone's standing, and check-in or check-out by
hand for people without a phone (through the activities service, which records who did it and why).
"""

from __future__ import annotations

from typing import cast

from django import forms
from django.contrib import messages
from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.views.decorators.http import require_POST
from unfold.widgets import UnfoldAdminSelect2Widget

from backend.accounts.models import User
from backend.activities import selectors as activity_selectors
from backend.activities import services as activity_services
from backend.activities.models import Activity, CheckIn, Enrollment
from backend.core.errors import DomainError

from .checkin import _manageable
from .pages import _page, _staff_only

FIGURES = (("expected", "应到"), ("checked_in", "实到"), ("on_leave", "请假"), ("absent", "缺席"))


class PersonChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: User) -> str:
        name = obj.real_name or obj.nickname or f"用户{obj.pk}"
        return f"{name}（尾号 {obj.phone[-4:]}）" if obj.phone else name


class ManualAttendanceForm(forms.Form):
    kind = forms.ChoiceField(label="登记", choices=CheckIn.Kind.choices, initial=CheckIn.Kind.IN)
    user = PersonChoiceField(
        label="人员", queryset=User.objects.none(), widget=UnfoldAdminSelect2Widget, help_text="可输入姓名查找"
    )
    reason = forms.CharField(
        label="原因",
        max_length=200,
        widget=forms.TextInput(attrs={"placeholder": "如: 老人无智能手机, 由工作人员代为签到"}),
    )

    def __init__(self, *args, activity: Activity, **kwargs):
        super().__init__(*args, **kwargs)
        # The people of the activity's community, and whoever is already on its ledger (the service
        # decides whether this person may attend: enrolled or in the audience).
        enrolled = Enrollment.objects.filter(activity=activity).values("user_id")
        checked = CheckIn.objects.filter(activity=activity).values("user_id")
        cast(PersonChoiceField, self.fields["user"]).queryset = (
            User.objects.filter(is_active=True, anonymised_at__isnull=True)
            .filter(Q(community_id=activity.community_id) | Q(pk__in=enrolled) | Q(pk__in=checked))
            .only("id", "real_name", "nickname", "phone")
            .order_by("real_name", "pk")
        )


def attendance_page(request: HttpRequest, activity_id: int) -> HttpResponse:
    _staff_only(request)
    activity = _manageable(request, activity_id)
    return _render(request, activity, ManualAttendanceForm(activity=activity))


def _render(request: HttpRequest, activity: Activity, form: ManualAttendanceForm, status: int = 200) -> HttpResponse:
    ledger = activity_selectors.attendance_ledger(activity)
    figures = [(label, ledger.counts.get(key, 0)) for key, label in FIGURES]
    response = _page(
        request,
        "console/attendance.html",
        f"出勤: {activity.title}",
        activity=activity,
        ledger=ledger,
        figures=figures,
        form=form,
        export_url=reverse("activity-attendance-export", kwargs={"pk": activity.pk}),
        open_for_records=activity.status in (Activity.Status.PUBLISHED, Activity.Status.FINISHED),
    )
    response.status_code = status
    return response


@require_POST
def record_attendance(request: HttpRequest, activity_id: int) -> HttpResponse:
    user = _staff_only(request)
    activity = _manageable(request, activity_id)
    form = ManualAttendanceForm(request.POST, activity=activity)
    if not form.is_valid():
        return _render(request, activity, form, status=400)
    data = form.cleaned_data
    try:
        row = activity_services.record_attendance(
            activity=activity, by=user, user=data["user"], reason=data["reason"], kind=data["kind"]
        )
    except DomainError as exc:
        for name, texts in (exc.fields or {"__all__": [str(exc.detail)]}).items():
            for text in texts:
                form.add_error(name if name in form.fields else None, text)
        return _render(request, activity, form, status=400)
    label = cast(PersonChoiceField, form.fields["user"]).label_from_instance(data["user"])
    messages.success(request, f"已为 {label} 人工登记{row.get_kind_display()}")
    return redirect("console-attendance", activity_id=activity.pk)
