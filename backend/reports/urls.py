from django.urls import path

from . import views

# Under members/ beside the members app's routes: its members/{id}/ takes digits only, so
# members/reports/ is never read as a member.
urlpatterns = [
    path("members/reports/", views.FeedbackReportView.as_view(), name="feedback-report"),
    path("members/reports/export/", views.FeedbackReportExportView.as_view(), name="feedback-report-export"),
    path("members/reports/sent/", views.SentReportListView.as_view(), name="feedback-report-sent"),
    path("communities/<int:pk>/coverage/", views.CommunityCoverageView.as_view(), name="community-coverage"),
    path(
        "communities/<int:pk>/coverage/export/",
        views.CommunityCoverageExportView.as_view(),
        name="community-coverage-export",
    ),
    path("streets/<int:pk>/coverage/", views.StreetCoverageView.as_view(), name="street-coverage"),
    path("streets/<int:pk>/coverage/export/", views.StreetCoverageExportView.as_view(), name="street-coverage-export"),
    path("brands/<int:pk>/figures/", views.BrandFiguresView.as_view(), name="brand-figures"),
    path("streets/<int:pk>/brand-board/", views.BrandBoardView.as_view(), name="brand-board"),
    path("streets/<int:pk>/brand-board/export/", views.BrandBoardExportView.as_view(), name="brand-board-export"),
    path("dashboard/", views.DashboardView.as_view(), name="dashboard"),
]
