from django.urls import path

from .push_views import WeChatPushView
from .upload_views import UploadView

urlpatterns = [
    path("uploads/", UploadView.as_view(), name="upload-create"),
    path("wechat/push/", WeChatPushView.as_view(), name="wechat-push"),
]
