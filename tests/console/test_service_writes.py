"""Staff write in the console only through services: the fast half of the console matrix
(tests/security/test_console_matrix.py sends every write as every role)."""

import pytest
from django.contrib import admin
from django.test import RequestFactory

from backend.core.console import ScopedAdmin
from backend.volunteers.models import VolunteerTeam
from tests import factories
from tests.security.console_matrix import Figure, check_declared_permissions

pytestmark = pytest.mark.django_db


def test_no_admin_lets_staff_write_without_a_service(community):
    figure = Figure()
    users = {"staff": factories.staff_of(community), "street_admin": factories.admin_of(community.street)}
    check_declared_permissions(users, figure)
    assert figure.cells > 100
    assert not figure.unexpected, "\n".join(figure.unexpected)


def test_an_admin_without_its_own_save_is_read_only_for_staff_whatever_its_flags(community):
    class BareForm(ScopedAdmin):
        staff_can_add = staff_can_edit = staff_can_delete = True

    bare = BareForm(VolunteerTeam, admin.site)
    request = RequestFactory().get("/admin/")
    request.user = factories.staff_of(community)
    assert not (bare.has_add_permission(request) or bare.has_change_permission(request))
    assert not bare.has_delete_permission(request)

    class ThroughServices(BareForm):
        def save_model(self, request, obj, form, change): ...

        def delete_model(self, request, obj): ...

    routed = ThroughServices(VolunteerTeam, admin.site)
    assert routed.has_add_permission(request) and routed.has_change_permission(request)
    assert routed.has_delete_permission(request)
    request.user = factories.UserFactory(is_superuser=True, is_staff=True)
    assert bare.has_add_permission(request)
