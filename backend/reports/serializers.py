"""Query parameters and every report: each serializer renders the selector's typed value and is the
schema of that answer, one definition for both (backend/reports/selectors/common.py says why typed)."""

from __future__ import annotations

from typing import Any

from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from backend.brands.models import Brand, BrandPlan, Honor
from backend.core.fields import BoundedDateTimeField
from backend.core.periods import InvalidPeriod, parse_period

from .models import FeedbackReport
from .selectors.board import DeadlineStatus

# The largest id a 64-bit key column holds: anything above cannot exist and must not reach the database.
MAX_ID = 2**63 - 1
PERIOD_HELP = "2026, 2026H1, 2026Q3 or 2026-03 (not all)"
HOURS_HELP = "hours, a decimal with two places"


def hours_field(*, max_digits: int = 12, **kwargs: Any) -> serializers.DecimalField:
    """Hours as every report sends them: a decimal string with two places."""
    return serializers.DecimalField(max_digits=max_digits, decimal_places=2, **kwargs)


def deadline_summary_field(**kwargs: Any) -> serializers.DictField:
    """Communities per deadline status (every DeadlineStatus named)."""
    return serializers.DictField(child=serializers.IntegerField(), **kwargs)


def _bounded_period(value: str) -> str:
    try:
        period = parse_period(value)
    except InvalidPeriod as exc:
        raise serializers.ValidationError(str(exc)) from None
    if period.is_all:
        raise serializers.ValidationError(_("须指定年度、半年、季度或月份"))
    return value.strip().upper()


# Queries ------------------------------------------------------------------------------------------


class ReportQuerySerializer(serializers.Serializer):
    organization = serializers.IntegerField(min_value=1, max_value=MAX_ID, help_text="the unit's party organisation")
    period = serializers.CharField(max_length=16, help_text=PERIOD_HELP)

    def validate_period(self, value: str) -> str:
        return _bounded_period(value)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        attrs["range"] = parse_period(attrs["period"])
        return attrs

    class Meta:
        ref_name = "FeedbackReportQuery"


class SentReportQuerySerializer(serializers.Serializer):
    organization = serializers.IntegerField(min_value=1, max_value=MAX_ID)
    period = serializers.CharField(max_length=16, required=False, help_text=PERIOD_HELP)

    def validate_period(self, value: str) -> str:
        return _bounded_period(value)


class BoardQuerySerializer(serializers.Serializer):
    year = serializers.IntegerField(
        min_value=2000, max_value=2100, required=False, help_text="the plans' deadline year; default this year"
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        attrs.setdefault("year", timezone.localdate().year)
        return attrs


class DashboardQuerySerializer(serializers.Serializer):
    community = serializers.IntegerField(min_value=1, max_value=MAX_ID, required=False)
    street = serializers.IntegerField(min_value=1, max_value=MAX_ID, required=False)
    period = serializers.CharField(max_length=16, required=False, help_text=f"{PERIOD_HELP}; default this year")

    def validate_period(self, value: str) -> str:
        return _bounded_period(value)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if (attrs.get("community") is None) == (attrs.get("street") is None):
            raise serializers.ValidationError({"community": [_("请指定社区或街道之一")]})
        attrs.setdefault("period", str(timezone.localdate().year))
        attrs["range"] = parse_period(attrs["period"])
        return attrs


# Shared pieces ------------------------------------------------------------------------------------


class RatioSerializer(serializers.Serializer):
    numerator = serializers.IntegerField()
    denominator = serializers.IntegerField()
    rate = serializers.FloatField(
        allow_null=True, help_text="numerator / denominator (0..1), null when nothing to count"
    )

    class Meta:
        ref_name = "ReportRatio"


class UnknownDenominatorSerializer(serializers.Serializer):
    code = serializers.CharField(help_text="no_known_members, no_units_filed")
    detail = serializers.CharField()

    class Meta:
        ref_name = "ReportUnknownDenominator"


class MembershipRatioSerializer(RatioSerializer):
    unknown = UnknownDenominatorSerializer(
        allow_null=True, help_text="why the denominator is unknown (it is 0); null when it is known"
    )

    class Meta:
        ref_name = "ReportMembershipRatio"


class PlaceSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()

    class Meta:
        ref_name = "ReportPlace"


# 五个全覆盖 ------------------------------------------------------------------------------------------


class CoverageSerializer(serializers.Serializer):
    party_organization = RatioSerializer(help_text="(1) estates with a party organisation / estates")
    property_company_party_organization = RatioSerializer(
        help_text="(1) property companies serving here with a party organisation / companies serving here"
    )
    owners_committee = RatioSerializer(
        help_text="(2) estates with an owners' committee in office / estates requiring one"
    )
    property_service = RatioSerializer(help_text="(3) estates with property service / estates")
    member_registration = MembershipRatioSerializer(
        help_text="(4) members registered (approved) here / members known to live here: registered here, "
        "applying here, or registered anywhere with this as their home community (User.community)",
    )
    unit_registration = MembershipRatioSerializer(
        help_text="(4) units registered (approved) / units co-building (pending or approved)",
    )
    red_property = RatioSerializer(
        help_text="(5) red property estates with property service / estates with property service"
    )
    registered_members = serializers.IntegerField(help_text="members registered (approved) here, wherever they live")

    class Meta:
        ref_name = "Coverage"


class CommunityRefSerializer(PlaceSerializer):
    street = serializers.IntegerField(source="street_id")

    class Meta:
        ref_name = "CoverageCommunity"


class CommunityCoverageSerializer(CoverageSerializer):
    community = CommunityRefSerializer()
    on = serializers.DateField(help_text="the Asia/Shanghai date the committees in office are counted on")

    class Meta:
        ref_name = "CommunityCoverage"


class StreetCoverageRowSerializer(CoverageSerializer):
    community = PlaceSerializer()

    class Meta:
        ref_name = "StreetCoverageRow"


class StreetCoverageSerializer(serializers.Serializer):
    street = PlaceSerializer()
    on = serializers.DateField()
    total = CoverageSerializer(help_text="sums over the communities; property companies counted once each")
    communities = StreetCoverageRowSerializer(many=True)

    class Meta:
        ref_name = "StreetCoverage"


# 双报告 -------------------------------------------------------------------------------------------


class TargetSerializer(serializers.Serializer):
    hours = hours_field(max_digits=8, help_text="0: not measured")
    services = serializers.IntegerField(help_text="0: not measured")

    class Meta:
        ref_name = "FeedbackReportTarget"


class MeetingsSerializer(serializers.Serializer):
    attended = serializers.IntegerField()
    on_leave = serializers.IntegerField()
    absent = serializers.IntegerField()

    class Meta:
        ref_name = "FeedbackReportMeetings"


class MemberLineSerializer(serializers.Serializer):
    member_id = serializers.IntegerField()
    user_id = serializers.IntegerField()
    name = serializers.CharField()
    phone = serializers.CharField(allow_null=True, help_text="masked")
    community = PlaceSerializer(allow_null=True, help_text="registered with at the period's end; null: not registered")
    grid = serializers.CharField(allow_null=True)
    registered_at = BoundedDateTimeField(allow_null=True)
    posts = serializers.ListField(child=serializers.CharField(), help_text="service posts held in the period")
    has_post = serializers.BooleanField()
    activities_attended = serializers.IntegerField()
    meetings = MeetingsSerializer(help_text="三会一课 and party lessons: attended, on approved leave, absent")
    volunteer_hours = hours_field(max_digits=10, help_text="approved hours")
    volunteer_services = serializers.IntegerField(help_text="approved service records")
    demands_completed = serializers.IntegerField()
    services = serializers.IntegerField(help_text="volunteer_services + demands_completed, measured against the target")
    points = serializers.IntegerField()
    meets_target = serializers.BooleanField(allow_null=True, help_text="null when no target is set")

    class Meta:
        ref_name = "FeedbackReportLine"


class MemberRefSerializer(serializers.Serializer):
    member_id = serializers.IntegerField()
    name = serializers.CharField()

    class Meta:
        ref_name = "FeedbackReportMemberRef"


class ReportSummarySerializer(serializers.Serializer):
    members = serializers.IntegerField()
    registration_rate = RatioSerializer(help_text="members registered with a community at the period's end / members")
    service_completion_rate = RatioSerializer(help_text="members meeting the target / members")
    volunteer_hours = hours_field()
    volunteer_services = serializers.IntegerField()
    activities_attended = serializers.IntegerField()
    meetings_attended = serializers.IntegerField()
    demands_completed = serializers.IntegerField(help_text="by the members")
    unit_demands_completed = serializers.IntegerField(help_text="claimed by the unit itself")
    points = serializers.IntegerField()
    below_target = MemberRefSerializer(many=True)
    without_post = MemberRefSerializer(many=True)

    class Meta:
        ref_name = "FeedbackReportSummary"


class ReportCommunitySerializer(serializers.Serializer):
    id = serializers.IntegerField(allow_null=True, help_text="null: the members not registered with any community")
    name = serializers.CharField()
    members = MemberLineSerializer(many=True)

    class Meta:
        ref_name = "FeedbackReportCommunity"


class OrganizationRefSerializer(PlaceSerializer):
    employer = serializers.CharField(allow_blank=True)

    class Meta:
        ref_name = "FeedbackReportOrganization"


class FeedbackReportDataSerializer(serializers.Serializer):
    organization = OrganizationRefSerializer()
    period = serializers.CharField()
    start = BoundedDateTimeField()
    end = BoundedDateTimeField(help_text="exclusive")
    generated_at = BoundedDateTimeField()
    target = TargetSerializer(help_text="the yearly target in proportion to the period")
    summary = ReportSummarySerializer()
    unit_communities = PlaceSerializer(many=True, help_text="communities the unit is registered with")
    communities = ReportCommunitySerializer(many=True, help_text="one group (sheet) per community")

    class Meta:
        ref_name = "FeedbackReportData"


class SentRefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    generated_at = BoundedDateTimeField()
    sent_at = BoundedDateTimeField(allow_null=True)
    file_url = serializers.CharField(allow_null=True, help_text="the workbook as sent; only to whole-report readers")

    class Meta:
        ref_name = "FeedbackReportSentRef"


class FeedbackReportSerializer(FeedbackReportDataSerializer):
    sent_report = SentRefSerializer(allow_null=True, help_text="the report kept for this period, if any")

    class Meta:
        ref_name = "FeedbackReport"


class OwnReportLineSerializer(MemberLineSerializer):
    """A member's own line (`members/me/`, whose schema gives it as JSON): the line, the period, the target."""

    period = serializers.CharField(allow_null=True)
    start = BoundedDateTimeField()
    end = BoundedDateTimeField()
    target = TargetSerializer()

    class Meta:
        ref_name = "FeedbackReportOwnLine"


class StoredReportSerializer(serializers.ModelSerializer):
    # The kept report's field, named as the model names it; the stubs know only Serializer.data.
    data = FeedbackReportDataSerializer(help_text="the report as generated")  # type: ignore[assignment]
    file_url = serializers.SerializerMethodField()
    sent_notice = serializers.IntegerField(source="sent_notice_id", allow_null=True)

    class Meta:
        model = FeedbackReport
        fields = [
            "id",
            "organization",
            "period",
            "generated_at",
            "sent_at",
            "sent_notice",
            "recipient_count",
            "file_url",
            "data",
        ]
        ref_name = "StoredFeedbackReport"

    def get_file_url(self, report: FeedbackReport) -> str | None:
        if not self.context.get("full", False) or not report.xlsx:
            return None
        return report.xlsx.url


# Brands -------------------------------------------------------------------------------------------


class BrandFiguresSerializer(serializers.Serializer):
    activities = serializers.IntegerField(help_text="activities held (published or finished, started)")
    participants = serializers.IntegerField(help_text="distinct people who checked in")
    check_ins = serializers.IntegerField()
    volunteer_hours = hours_field(help_text="approved, from these activities")

    class Meta:
        ref_name = "BrandFigures"


class BrandYearFiguresSerializer(BrandFiguresSerializer):
    year = serializers.IntegerField()

    class Meta:
        ref_name = "BrandYearFigures"


class BrandRefSerializer(PlaceSerializer):
    community = serializers.IntegerField(source="community_id")

    class Meta:
        ref_name = "BrandFiguresBrand"


class BrandFiguresReportSerializer(serializers.Serializer):
    brand = BrandRefSerializer()
    all_time = BrandFiguresSerializer()
    years = BrandYearFiguresSerializer(many=True, help_text="newest first; a year counts the activities started in it")

    class Meta:
        ref_name = "BrandFiguresReport"


class BoardBrandSerializer(PlaceSerializer):
    status = serializers.ChoiceField(choices=Brand.Status.choices)
    slogan = serializers.CharField(allow_blank=True)

    class Meta:
        ref_name = "BrandBoardBrand"


class BoardPlanSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    version = serializers.IntegerField()
    status = serializers.ChoiceField(choices=BrandPlan.Status.choices)
    submitted_at = BoundedDateTimeField(allow_null=True)
    reviewed_at = BoundedDateTimeField(allow_null=True)

    class Meta:
        ref_name = "BrandBoardPlan"


class BoardHonorSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    title = serializers.CharField()
    level = serializers.ChoiceField(choices=Honor.Level.choices)
    issuer = serializers.CharField()
    awarded_on = serializers.DateField()
    recipient = serializers.CharField(help_text="the brand's or the organisation's name")

    class Meta:
        ref_name = "BrandBoardHonor"


class BoardRowSerializer(serializers.Serializer):
    community = PlaceSerializer()
    brand = BoardBrandSerializer(allow_null=True, help_text="the published brand, else the newest draft")
    plan = BoardPlanSerializer(allow_null=True, help_text="the newest plan version of the year")
    handed_in_at = BoundedDateTimeField(allow_null=True, help_text="when the year's plan was first handed in")
    due_date = serializers.DateField(allow_null=True)
    deadline_title = serializers.CharField(allow_blank=True)
    deadline_status = serializers.ChoiceField(choices=DeadlineStatus.CHOICES)
    days_left = serializers.IntegerField(allow_null=True, help_text="days to the due date; negative: days overdue")
    figures = BrandFiguresSerializer(help_text="all time")
    honors = BoardHonorSerializer(many=True)

    class Meta:
        ref_name = "BrandBoardRow"


class BrandBoardSerializer(serializers.Serializer):
    street = PlaceSerializer()
    year = serializers.IntegerField()
    today = serializers.DateField()
    summary = deadline_summary_field(help_text="communities per deadline_status")
    communities = BoardRowSerializer(many=True)

    class Meta:
        ref_name = "BrandBoard"


# Dashboards ---------------------------------------------------------------------------------------


# A month of a dashboard's series: every month of the period, zeros where nothing happened.
class MonthSerializer(serializers.Serializer):
    month = serializers.CharField(help_text="YYYY-MM")


class RegistrationMonthSerializer(MonthSerializer):
    members = serializers.IntegerField(help_text="member registrations approved")
    units = serializers.IntegerField(help_text="unit registrations approved")

    class Meta:
        ref_name = "DashboardRegistrationMonth"


class ActivityMonthSerializer(MonthSerializer):
    activities = serializers.IntegerField()
    check_ins = serializers.IntegerField()
    participants = serializers.IntegerField(help_text="distinct people in the month")

    class Meta:
        ref_name = "DashboardActivityMonth"


class HoursMonthSerializer(MonthSerializer):
    hours = hours_field()
    volunteers = serializers.IntegerField()

    class Meta:
        ref_name = "DashboardHoursMonth"


class TopVolunteerSerializer(serializers.Serializer):
    rank = serializers.IntegerField()
    volunteer_id = serializers.IntegerField()
    name = serializers.CharField(allow_blank=True)
    volunteer_number = serializers.CharField()
    hours = hours_field()

    class Meta:
        ref_name = "DashboardTopVolunteer"


class AppealMonthSerializer(MonthSerializer):
    submitted = serializers.IntegerField()

    class Meta:
        ref_name = "DashboardAppealMonth"


class OverdueAppealSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    community = serializers.IntegerField()
    category = serializers.CharField()
    urgency = serializers.CharField()
    status = serializers.CharField()
    submitted_at = BoundedDateTimeField()
    overdue_since = BoundedDateTimeField()

    class Meta:
        ref_name = "DashboardOverdueAppeal"


class DashboardAppealsSerializer(serializers.Serializer):
    submitted = AppealMonthSerializer(many=True)
    response_rate = RatioSerializer()
    resolution_rate = RatioSerializer()
    satisfaction_rate = RatioSerializer()
    overdue_count = serializers.IntegerField()
    overdue = OverdueAppealSerializer(many=True, help_text="the most overdue first, at most 20")

    class Meta:
        ref_name = "DashboardAppeals"


class DashboardPlanRowSerializer(serializers.Serializer):
    community = PlaceSerializer()
    brand = serializers.CharField(source="brand_name", allow_null=True)  # BoardRow.brand is the whole brand
    plan_status = serializers.ChoiceField(choices=BrandPlan.Status.choices, allow_null=True)
    due_date = serializers.DateField(allow_null=True)
    deadline_status = serializers.ChoiceField(choices=DeadlineStatus.CHOICES)
    days_left = serializers.IntegerField(allow_null=True)

    class Meta:
        ref_name = "DashboardPlanRow"


class DashboardPlansSerializer(serializers.Serializer):
    year = serializers.IntegerField()
    summary = deadline_summary_field()
    communities = DashboardPlanRowSerializer(many=True)

    class Meta:
        ref_name = "DashboardPlans"


class DashboardSerializer(serializers.Serializer):
    period = serializers.CharField()
    community = serializers.IntegerField(allow_null=True)
    street = serializers.IntegerField(allow_null=True)
    start = BoundedDateTimeField()
    end = BoundedDateTimeField()
    registrations = RegistrationMonthSerializer(many=True)
    activities = ActivityMonthSerializer(many=True)
    volunteer_hours = HoursMonthSerializer(many=True)
    top_volunteers = TopVolunteerSerializer(many=True)
    appeals = DashboardAppealsSerializer()
    coverage = CoverageSerializer()
    brand_plans = DashboardPlansSerializer()

    class Meta:
        ref_name = "Dashboard"
