"""Who may act is answered before what is wrong with the input, for honours as for every brand service."""

import datetime as dt

import pytest

from backend.brands import services
from backend.brands.models import Brand, Honor
from backend.core.errors import DomainError
from tests import factories

from .factories import BrandFactory, HonorFactory

pytestmark = pytest.mark.django_db

HONORS = "/api/v1/honors/"


def _code(call) -> DomainError:
    with pytest.raises(DomainError) as caught:
        call()
    return caught.value


def test_recording_an_honour_without_the_right_is_403_even_naming_two_recipients(brand, staff, foreign_admin):
    organization = factories.OrganizationFactory(community=brand.community)
    for by in (staff, foreign_admin):
        error = _code(
            lambda by=by: services.create_honor(
                by=by,
                brand=brand,
                organization=organization,
                level="district",
                title="x",
                issuer="y",
                awarded_on=dt.date(2026, 1, 1),
            )
        )
        assert error.code == "permission_denied"
    # Naming neither: only a street admin hears what is missing.
    neither = {"level": "district", "title": "x", "issuer": "y", "awarded_on": dt.date(2026, 1, 1)}
    assert _code(lambda: services.create_honor(by=staff, **neither)).code == "permission_denied"
    assert _code(lambda: services.create_honor(by=foreign_admin, **neither)).code == "validation_error"
    assert not Honor.objects.exists()


def test_moving_an_honour_to_another_streets_draft_brand_is_403_not_400(street_admin, community):
    honor = HonorFactory(organization=factories.OrganizationFactory(community=community))
    elsewhere = BrandFactory(community=factories.CommunityFactory())
    assert elsewhere.status == Brand.Status.DRAFT
    error = _code(lambda: services.update_honor(by=street_admin, honor=honor, brand=elsewhere))
    assert error.code == "permission_denied"
    honor.refresh_from_db()
    assert honor.brand is None


def test_an_update_naming_both_recipients_is_refused(street_admin, community, brand):
    honor = HonorFactory(organization=factories.OrganizationFactory(community=community))
    Brand.objects.filter(pk=brand.pk).update(status=Brand.Status.ACTIVE)
    brand.refresh_from_db()
    error = _code(
        lambda: services.update_honor(by=street_admin, honor=honor, brand=brand, organization=honor.organization)
    )
    assert error.code == "validation_error" and "non_field_errors" in error.fields
    honor.refresh_from_db()
    assert honor.brand is None


def test_the_api_answers_both_recipients_in_an_update_on_non_field_errors(as_user, street_admin, community, brand):
    honor = HonorFactory(organization=factories.OrganizationFactory(community=community))
    Brand.objects.filter(pk=brand.pk).update(status=Brand.Status.ACTIVE)
    response = as_user(street_admin).patch(
        f"{HONORS}{honor.pk}/", {"brand": brand.pk, "organization": honor.organization_id}, format="json"
    )
    assert response.status_code == 400, response.content
    assert "non_field_errors" in response.json()["fields"]


def test_brand_and_plan_checks_refuse_in_one_place(brand, staff, other_staff, street_admin):
    services.require_brand_editor(by=staff, brand=brand)
    services.require_plan_writer(by=staff, brand=brand)
    services.require_plan_reviewer(by=street_admin, brand=brand)
    for call in (
        lambda: services.require_brand_editor(by=other_staff, brand=brand),
        lambda: services.require_plan_writer(by=street_admin, brand=brand),
        lambda: services.require_plan_reviewer(by=staff, brand=brand),
        lambda: services.require_staff(by=factories.UserFactory()),
    ):
        assert _code(call).code == "permission_denied"
