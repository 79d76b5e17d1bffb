from rest_framework.routers import SimpleRouter

from . import views

router = SimpleRouter()
router.register("red-property/estates", views.GovernanceViewSet, basename="estate-governance")
router.register("red-property/assessment-standards", views.AssessmentStandardViewSet, basename="assessment-standard")
router.register("red-property/assessment-items", views.AssessmentItemViewSet, basename="assessment-item")
router.register("red-property/assessments", views.EstateAssessmentViewSet, basename="estate-assessment")
router.register(
    "red-property/self-governance-meetings", views.SelfGovernanceMeetingViewSet, basename="self-governance-meeting"
)
router.register("red-property/self-governance", views.SelfGovernanceGroupViewSet, basename="self-governance-group")
router.register("property-companies", views.PropertyCompanyViewSet, basename="property-company")
router.register("owners-committees", views.OwnersCommitteeViewSet, basename="owners-committee")
router.register("residents-committees", views.ResidentsCommitteeViewSet, basename="residents-committee")
# Follow-ups first: `joint-meetings/follow-ups/` is not a meeting (meeting ids are digits only as well).
router.register("joint-meetings/follow-ups", views.FollowUpViewSet, basename="joint-meeting-follow-up")
router.register("joint-meetings", views.JointMeetingViewSet, basename="joint-meeting")

urlpatterns = router.urls
