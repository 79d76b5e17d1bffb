"""Privacy consents, and the audit log of staff reading members' details."""

from __future__ import annotations

from django.contrib import admin

from backend.accounts.models import PersonalDataAccess

from ..models import (
    PrivacyConsent,
)
from ._common import ReadOnlyMixin


@admin.register(PrivacyConsent)
class PrivacyConsentAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ["user", "purpose", "version", "given_at"]
    list_filter = ["purpose", "version"]

    def has_module_permission(self, request):
        return request.user.is_superuser

    def has_view_permission(self, request, obj=None):
        return request.user.is_superuser


# The audit log is an accounts table; it is shown here, beside the pages whose reads it records.
@admin.register(PersonalDataAccess)
class PersonalDataAccessAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ["at", "actor", "subject", "what", "object_id", "path"]
    list_filter = ["what"]
    search_fields = ["actor__real_name", "subject__real_name", "path"]
    date_hierarchy = "at"

    def has_module_permission(self, request):
        return request.user.is_superuser

    def has_view_permission(self, request, obj=None):
        return request.user.is_superuser
