from rest_framework.routers import SimpleRouter

from . import views

router = SimpleRouter()
router.register("appeals", views.AppealViewSet, basename="appeal")

urlpatterns = router.urls
