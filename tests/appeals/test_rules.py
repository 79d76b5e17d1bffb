"""Who may act is answered before what is wrong with the input; the read rules live in selectors."""

import uuid

import pytest

from backend.appeals import selectors, services
from backend.appeals.models import Appeal, AppealStep
from backend.core.errors import DomainError

pytestmark = pytest.mark.django_db


def _file(town, by, **kwargs):
    return services.submit_appeal(
        by=by, client_id=uuid.uuid4(), community=town.community, category="environment", **kwargs
    )


@pytest.mark.parametrize(
    "kwargs",
    [
        {"source": "hotline", "content": "", "ticket_number": "YY1", "contact_phone": "13800000000"},
        {"source": "hotline", "content": "路灯不亮", "ticket_number": "", "contact_phone": ""},
        {"source": "grid_worker", "content": "路灯不亮", "ticket_number": "YY1", "contact_phone": ""},
    ],
)
def test_filing_for_someone_without_the_right_is_403_even_with_invalid_input(town, kwargs):
    with pytest.raises(DomainError) as caught:
        _file(town, town.resident, **kwargs)
    assert caught.value.code == "permission_denied"
    assert not Appeal.objects.exists()


def test_filing_with_the_right_still_hears_what_is_wrong(town):
    with pytest.raises(DomainError) as caught:
        _file(town, town.staff, source="hotline", content="路灯不亮", ticket_number="", contact_phone="13800000000")
    assert caught.value.code == "validation_error" and "ticket_number" in caught.value.fields


@pytest.mark.parametrize(
    ("step", "who", "payload"),
    [
        ("reply", "resident", {"content": "答" * 2001}),
        ("accept", "resident", {"content": "受" * 2001}),
        ("assign", "worker", {"assignee": "nobody"}),
        ("rate", "staff", {"score": 9}),
    ],
)
def test_a_step_without_the_right_is_403_even_with_an_invalid_body(town, file_appeal, as_user, step, who, payload):
    appeal = file_appeal()
    if step == "rate":
        Appeal.objects.filter(pk=appeal.pk).update(status=Appeal.Status.RESOLVED)
    steps = AppealStep.objects.count()
    response = as_user(getattr(town, who)).post(f"/api/v1/appeals/{appeal.pk}/{step}/", payload, format="json")
    assert response.status_code == 403, response.content
    assert response.json()["code"] == "permission_denied"
    assert AppealStep.objects.count() == steps


def test_the_contact_phone_is_whole_for_the_people_of_the_appeal_or_one_opened(town, file_appeal):
    appeal = file_appeal()
    assert selectors.shows_contact_phone(town.resident, appeal, opened=False)
    assert not selectors.shows_contact_phone(town.staff, appeal, opened=False)
    assert selectors.shows_contact_phone(town.staff, appeal, opened=True)
    assert not selectors.shows_contact_phone(None, appeal, opened=False)


def test_the_three_rates_are_for_staff(town):
    assert selectors.may_read_rates(town.staff)
    assert selectors.may_read_rates(town.street_admin)
    assert not selectors.may_read_rates(town.worker)
    assert not selectors.may_read_rates(town.resident)


def test_staff_never_handle_their_own_appeal(town, file_appeal, as_user):
    # A staff member's own complaint is handled by a colleague: handling and rating it herself would
    # count in the 接诉即办 rates as work done for a resident.
    own = file_appeal(by=town.staff)
    for step, body in (("accept", {}), ("reply", {"content": "已处理"}), ("resolve", {"content": "好了"})):
        refused = as_user(town.staff).post(f"/api/v1/appeals/{own.pk}/{step}/", body, format="json")
        assert refused.status_code == 403, (step, refused.json())
        assert refused.json()["code"] == "permission_denied"
    assert AppealStep.objects.filter(appeal=own).count() == 1
    with pytest.raises(DomainError) as refused:
        services.assign(appeal=own, by=town.secretary, assignee=town.staff)
    assert refused.value.fields and "assignee" in refused.value.fields
    assert as_user(town.secretary).post(f"/api/v1/appeals/{own.pk}/accept/", {}, format="json").status_code == 200
