from django.urls import path
from rest_framework.routers import SimpleRouter

from . import views, wechat_views

router = SimpleRouter()
router.register("accounts/roles", views.RoleGrantViewSet, basename="role-grant")

# Only the djoser routes the API uses: some of its unused defaults answer 500 to malformed input.
me = views.MeViewSet.as_view({"get": "me", "patch": "me"})

urlpatterns = [
    path("auth/jwt/create/", views.LoginView.as_view(), name="jwt-create"),
    path("auth/jwt/refresh/", views.RefreshView.as_view(), name="jwt-refresh"),
    path("auth/users/me/", me, name="user-me"),
    # Beside djoser's `me`: the owner's copy of their data, and the deletion of the account (a POST
    # with a body the mini-program can send; djoser's DELETE needs a password WeChat users lack).
    path("auth/users/me/export/", views.PersonalDataExportView.as_view(), name="user-me-export"),
    path("auth/users/me/deletion/", views.AccountDeletionView.as_view(), name="user-me-deletion"),
    path("auth/wechat/login/", wechat_views.WeChatLoginView.as_view(), name="wechat-login"),
    path("auth/wechat/phone/", wechat_views.WeChatPhoneView.as_view(), name="wechat-phone"),
    *router.urls,
]
