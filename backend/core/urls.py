# Uploads and other core endpoints are added here.
urlpatterns: list = []
