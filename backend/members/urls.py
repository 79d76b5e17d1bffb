from rest_framework.routers import SimpleRouter

from . import views

router = SimpleRouter()
# The fixed prefixes under members/ come before members/{id}/ so they are never read as an id.
router.register("members/registrations", views.MemberRegistrationViewSet, basename="member-registration")
router.register("members/unit-registrations", views.UnitRegistrationViewSet, basename="unit-registration")
router.register("members/posts", views.ServicePostViewSet, basename="service-post")
router.register("members/points", views.PointsViewSet, basename="points")
router.register("members/privacy-notice", views.PrivacyNoticeViewSet, basename="privacy-notice")
router.register("members/consents", views.ConsentViewSet, basename="consent")
router.register("members", views.MemberViewSet, basename="member")
router.register("demands", views.DemandViewSet, basename="demand")
router.register("resources", views.ResourceViewSet, basename="resource")
router.register("service-projects", views.ServiceProjectViewSet, basename="service-project")

urlpatterns = router.urls
