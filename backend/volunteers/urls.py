from django.urls import path
from rest_framework.routers import SimpleRouter

from . import views

router = SimpleRouter()
# The fixed prefixes under volunteers/ come before volunteers/{id}/ so they are never read as an id.
router.register("volunteers/records", views.ServiceRecordViewSet, basename="volunteer-record")
router.register("volunteers/certificates", views.CertificateViewSet, basename="volunteer-certificate")
router.register("volunteers", views.VolunteerViewSet, basename="volunteer")

urlpatterns = [
    path("volunteers/me/", views.VolunteerMeView.as_view(), name="volunteer-me"),
    path("volunteers/leaderboard/", views.LeaderboardView.as_view(), name="volunteer-leaderboard"),
    path("certificates/verify/<str:number>/", views.CertificateVerifyView.as_view(), name="certificate-verify"),
    *router.urls,
]
