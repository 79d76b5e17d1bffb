from rest_framework.routers import SimpleRouter

from . import views

router = SimpleRouter()
router.register("streets", views.StreetViewSet, basename="street")
router.register("communities", views.CommunityViewSet, basename="community")
router.register("grids", views.GridViewSet, basename="grid")
router.register("organizations", views.OrganizationViewSet, basename="organization")
router.register("estates", views.EstateViewSet, basename="estate")
router.register("places", views.PlaceViewSet, basename="place")

urlpatterns = router.urls
