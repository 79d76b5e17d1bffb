"""Generic permission pieces; what a role may do where is decided by accounts.scoping."""

from rest_framework import permissions


class PublicReadAuthenticatedWrite(permissions.BasePermission):
    """Anyone may read; writing needs a signed-in user (the view then checks the scope)."""

    def has_permission(self, request, view):
        if request.method in permissions.SAFE_METHODS:
            return True
        return bool(request.user and request.user.is_authenticated)
