from django.contrib import admin
from django.utils.html import format_html

from .models import Upload


@admin.register(Upload)
class UploadAdmin(admin.ModelAdmin):
    """Uploads belong to the records that use them; here superusers can only look them up."""

    list_display = ["id", "original_name", "kind", "content_type", "size", "owner", "created_at"]
    list_filter = ["kind", "content_type"]
    search_fields = ["original_name", "sha256"]
    list_select_related = ["owner"]
    date_hierarchy = "created_at"
    fields = [
        "preview",
        "file",
        "thumbnail",
        "kind",
        "content_type",
        "size",
        "width",
        "height",
        "sha256",
        "original_name",
        "owner",
        "created_at",
    ]
    readonly_fields = fields

    @admin.display(description="预览")
    def preview(self, obj: Upload) -> str:
        if not obj.thumbnail:
            return "-"
        return format_html('<img src="{}" alt="" style="max-width:240px;max-height:240px">', obj.thumbnail.url)

    def has_module_permission(self, request):
        return request.user.is_active and request.user.is_superuser

    def has_view_permission(self, request, obj=None):
        return request.user.is_active and request.user.is_superuser

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
