"""Generic permission pieces; what a role may do where is decided by accounts.scoping."""

from rest_framework import permissions


class ReadOnly(permissions.BasePermission):
    def has_permission(self, request, view):
        return request.method in permissions.SAFE_METHODS


class PublicReadAuthenticatedWrite(permissions.BasePermission):
    """Anyone may read; writing needs a signed-in user (the view then checks the scope)."""

    def has_permission(self, request, view):
        if request.method in permissions.SAFE_METHODS:
            return True
        return bool(request.user and request.user.is_authenticated)


class ScopedQuerysetMixin:
    """Viewsets start from nothing and build their queryset from the caller's scope.

    `get_object()` then looks only inside that queryset, so an object outside the caller's scope
    answers 404 and its existence does not leak (the 404 rule).
    """

    def scoped_queryset(self):  # pragma: no cover - each view says how
        raise NotImplementedError

    def get_queryset(self):
        return self.scoped_queryset()
