"""The signed-in caller of a view, typed.

To a type checker `request.user` is `User | AnonymousUser`; behind the default permission
(`IsAuthenticated`) it is always a `User`. Views name the caller through `caller(request)` rather
than casting at each use.
"""

from __future__ import annotations

from django.http import HttpRequest
from rest_framework.exceptions import NotAuthenticated
from rest_framework.request import Request

from .models import User


def caller(request: HttpRequest | Request) -> User:
    """The authenticated user making the request.

    An anonymous request is refused by the permission check before the view runs; should one get
    this far, it is answered 401 rather than read as somebody.
    """
    user = request.user
    if isinstance(user, User):
        return user
    raise NotAuthenticated()
