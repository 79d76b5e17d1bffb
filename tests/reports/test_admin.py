"""The console shows the kept 双报告 read-only, whole, to superusers only: the kept file holds every
community's members, and a unit's liaison reads only their own ties' cut, through the API."""

from __future__ import annotations

import pytest
from django.utils.html import escape

from backend.reports import services
from backend.reports.models import FeedbackReport
from tests import factories

pytestmark = pytest.mark.django_db

LIST = "/admin/reports/feedbackreport/"


@pytest.fixture
def kept(town):
    return services.send_feedback_report(
        report=services.generate_feedback_report(organization=town.u1, period="2025Q1")
    )


def test_the_liaison_does_not_read_the_whole_kept_report_here(town, kept, client):
    client.force_login(town.liaison)
    listing = client.get(LIST)
    assert "2025Q1" not in listing.content.decode()
    assert client.get(f"{LIST}{kept.pk}/change/").status_code in (302, 403, 404)
    assert kept.xlsx.url not in client.get(f"{LIST}{kept.pk}/change/", follow=True).content.decode()


def test_others_do_not_see_them(town, kept, client):
    other = factories.UserFactory()
    factories.grant(other, "unit_liaison", town.u2)
    client.force_login(other)
    assert "2025Q1" not in client.get(LIST).content.decode()
    assert client.get(f"{LIST}{kept.pk}/change/").status_code in (302, 404)


def test_a_superuser_reads_every_report(town, kept, client):
    admin = factories.UserFactory(is_superuser=True, is_staff=True)
    client.force_login(admin)
    page = client.get(f"{LIST}{kept.pk}/change/")
    assert page.status_code == 200
    # The signed link, as HTML writes it (its "&" escaped in the attribute).
    assert escape(kept.xlsx.url) in page.content.decode()
    assert client.get(f"{LIST}add/").status_code == 403
    response = client.post(f"{LIST}{kept.pk}/delete/", {"post": "yes"})
    assert response.status_code == 403
    assert FeedbackReport.objects.filter(pk=kept.pk).exists()
