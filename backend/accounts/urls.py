from django.urls import path
from djoser.views import UserViewSet
from rest_framework.routers import SimpleRouter

from . import views, wechat_views

router = SimpleRouter()
router.register("accounts/roles", views.RoleGrantViewSet, basename="role-grant")

# Only the djoser routes the API uses: some of its unused defaults answer 500 to malformed input.
me = UserViewSet.as_view({"get": "me", "patch": "me"})

urlpatterns = [
    path("auth/jwt/create/", views.LoginView.as_view(), name="jwt-create"),
    path("auth/jwt/refresh/", views.RefreshView.as_view(), name="jwt-refresh"),
    path("auth/users/me/", me, name="user-me"),
    path("auth/wechat/login/", wechat_views.WeChatLoginView.as_view(), name="wechat-login"),
    path("auth/wechat/phone/", wechat_views.WeChatPhoneView.as_view(), name="wechat-phone"),
    *router.urls,
]
