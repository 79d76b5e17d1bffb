from django.urls import path

from . import views

urlpatterns = [
    path("plain", views.plain, name="bench-ceiling-plain"),
    path("insert", views.InsertView.as_view(), name="bench-ceiling-insert"),
]
