from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin

from backend.core.console import ScopedAdmin

from .models import RoleGrant, User
from .services import close_sessions


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    """Accounts are managed by superusers; staff manage people through role grants."""

    ordering = ["id"]
    list_display = ["id", "masked_phone", "real_name", "community", "is_active", "date_joined"]
    list_filter = ["is_active", "is_superuser"]
    # The whole phone only (the list masks it): a prefix would narrow the list to the account.
    search_fields = ["=phone", "real_name"]
    readonly_fields = ["wechat_openid", "wechat_unionid", "date_joined", "last_login"]
    fieldsets = [
        (None, {"fields": ["phone", "password"]}),
        ("资料", {"fields": ["real_name", "nickname", "community"]}),
        ("微信", {"fields": ["wechat_openid", "wechat_unionid"]}),
        ("权限", {"fields": ["is_active", "is_staff", "is_superuser"]}),
        ("时间", {"fields": ["last_login", "date_joined"]}),
    ]
    add_fieldsets = [(None, {"classes": ["wide"], "fields": ["phone", "password1", "password2"]})]

    @admin.display(description="手机号")
    def masked_phone(self, obj):
        return obj.masked_phone

    def has_module_permission(self, request):
        return request.user.is_superuser

    def has_view_permission(self, request, obj=None):
        return request.user.is_superuser

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        # A deactivated account's open sockets close (its tokens already fail on their next use).
        if change and "is_active" in form.changed_data and not obj.is_active:
            close_sessions(user_id=obj.pk)


@admin.register(RoleGrant)
class RoleGrantAdmin(ScopedAdmin):
    list_display = ["user", "role", "street", "community", "grid", "organization", "created_at", "revoked_at"]
    list_filter = ["role"]
    search_fields = ["user__real_name"]
    staff_search_fields = ("=user__phone",)
    raw_id_fields = ["user"]
    scope_paths = {"street": "street", "community": "community"}
    staff_can_add = False
    staff_can_edit = False
