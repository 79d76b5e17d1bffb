"""The console shows the kept 双报告 read-only: to the unit's liaison and superusers, never to change."""

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


def test_the_liaison_reads_the_units_reports(town, kept, client):
    client.force_login(town.liaison)
    listing = client.get(LIST)
    assert listing.status_code == 200
    assert "2025Q1" in listing.content.decode()
    page = client.get(f"{LIST}{kept.pk}/change/")
    assert page.status_code == 200
    # The signed link, as HTML writes it (its "&" escaped in the attribute).
    assert escape(kept.xlsx.url) in page.content.decode()
    assert client.get(f"{LIST}add/").status_code == 403
    response = client.post(f"{LIST}{kept.pk}/delete/", {"post": "yes"})
    assert response.status_code == 403
    assert FeedbackReport.objects.filter(pk=kept.pk).exists()


def test_others_do_not_see_them(town, kept, client):
    other = factories.UserFactory()
    factories.grant(other, "unit_liaison", town.u2)
    client.force_login(other)
    assert "2025Q1" not in client.get(LIST).content.decode()
    assert client.get(f"{LIST}{kept.pk}/change/").status_code in (302, 404)


def test_a_superuser_reads_every_report(town, kept, client):
    admin = factories.UserFactory(is_superuser=True, is_staff=True)
    client.force_login(admin)
    assert client.get(f"{LIST}{kept.pk}/change/").status_code == 200
    assert client.get(f"{LIST}add/").status_code == 403
