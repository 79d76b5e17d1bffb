from django.urls import path

from .upload_views import UploadView

urlpatterns = [
    path("uploads/", UploadView.as_view(), name="upload-create"),
]
