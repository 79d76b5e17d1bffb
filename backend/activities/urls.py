from rest_framework.routers import SimpleRouter

from . import views

router = SimpleRouter()
# The fixed prefix under activities/ comes before activities/{id}/ so it is never read as an id.
router.register("activities/leave-requests", views.LeaveRequestViewSet, basename="activity-leave-request")
router.register("activities", views.ActivityViewSet, basename="activity")

urlpatterns = router.urls
