from rest_framework.routers import SimpleRouter

from . import views

router = SimpleRouter()
# Deadlines first: `brands/deadlines/` must not be read as the brand with id "deadlines" (ids are
# digits only as well, so the order is a second guard, not the only one).
router.register("brands/deadlines", views.DeadlineViewSet, basename="brand-deadline")
router.register(r"brands/(?P<brand_pk>\d+)/plans", views.PlanViewSet, basename="brand-plan")
router.register("brands", views.BrandViewSet, basename="brand")
router.register("honors", views.HonorViewSet, basename="honor")

urlpatterns = router.urls
