"""DRF permission classes that know the roles. Object scope itself comes from the querysets."""

from rest_framework import permissions

from .scoping import get_scope


class IsStaff(permissions.BasePermission):
    """Street or community staff (street admin, secretary, community staff) somewhere."""

    message = "需要街道或社区工作人员权限"

    def has_permission(self, request, view):
        return bool(request.user and request.user.is_authenticated and get_scope(request.user).is_staff)


class IsStreetAdmin(permissions.BasePermission):
    message = "需要街道管理员权限"

    def has_permission(self, request, view):
        scope = get_scope(request.user)
        return scope.is_superuser or bool(scope.street_ids)


class CanManageRoles(permissions.BasePermission):
    """Street admins and community secretaries manage roles (each inside their own scope)."""

    message = "需要街道管理员或社区书记权限"

    def has_permission(self, request, view):
        scope = get_scope(request.user)
        return scope.is_superuser or bool(scope.street_ids or scope.secretary_community_ids)
