"""The console: appeals in scope, the workflow buttons calling the services, and hotline intake."""

from __future__ import annotations

import uuid

import pytest
from django.urls import reverse

from backend.accounts.models import PersonalDataAccess
from backend.appeals import services
from backend.appeals.models import Appeal, AppealStep

pytestmark = pytest.mark.django_db

CHANGELIST = "admin:appeals_appeal_changelist"


def change_url(appeal) -> str:
    return reverse("admin:appeals_appeal_change", args=[appeal.pk])


def workflow_url(appeal) -> str:
    return reverse("admin:appeals_appeal_workflow", args=[appeal.pk])


def messages_of(response) -> list[str]:
    return [str(m) for m in response.context["messages"]] if response.context else []


@pytest.fixture
def two_appeals(town, file_appeal):
    here = file_appeal()
    there, _ = services.submit_appeal(
        by=town.neighbour,
        client_id=uuid.uuid4(),
        community=town.other_community,
        estate=town.other_estate,
        category="property",
        content="樟村花园电梯停运",
    )
    return here, there


def test_the_list_shows_only_appeals_in_scope_with_masked_phones(client, town, two_appeals):
    here, _there = two_appeals
    client.force_login(town.secretary)
    response = client.get(reverse(CHANGELIST))
    assert response.status_code == 200
    assert [a.pk for a in response.context["cl"].result_list] == [here.pk]
    page = response.content.decode()
    phone = town.resident.phone
    assert f"{phone[:3]}****{phone[-4:]}" in page
    assert phone not in page
    assert "樟村花园电梯停运" not in page


def test_a_grid_worker_sees_their_grids_appeals(client, town, two_appeals):
    client.force_login(town.worker)
    response = client.get(reverse(CHANGELIST))
    assert response.status_code == 200
    assert [a.pk for a in response.context["cl"].result_list] == [two_appeals[0].pk]
    client.force_login(town.second_worker)
    assert list(client.get(reverse(CHANGELIST)).context["cl"].result_list) == []


def test_another_communitys_appeal_is_404_in_the_console(client, town, two_appeals):
    _here, there = two_appeals
    client.force_login(town.secretary)
    assert client.get(change_url(there)).status_code == 302  # the admin's "does not exist" redirect
    response = client.post(workflow_url(there), {"step": "accepted"})
    assert response.status_code == 404
    assert Appeal.objects.get(pk=there.pk).status == "submitted"


def test_the_change_page_offers_the_steps_allowed_now_and_audits_the_read(client, town, two_appeals):
    here, _there = two_appeals
    client.force_login(town.secretary)
    response = client.get(change_url(here))
    assert response.status_code == 200
    offered = [value for value, _label in response.context["workflow_steps"]]
    assert offered == ["accepted", "rejected", "assigned"]
    assert town.resident.phone in response.content.decode()  # the full number, to call back
    assert PersonalDataAccess.objects.filter(actor=town.secretary, subject=town.resident, what="appeal").count() == 1

    client.force_login(town.worker)
    offered = [value for value, _label in client.get(change_url(here)).context["workflow_steps"]]
    assert offered == ["accepted", "rejected"]  # grid workers do not assign


def test_the_workflow_buttons_call_the_services(
    client, town, two_appeals, captured_events, django_capture_on_commit_callbacks
):
    here, _there = two_appeals
    client.force_login(town.secretary)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(workflow_url(here), {"step": "accepted", "content": "已受理"}, follow=True)
    assert response.status_code == 200
    assert Appeal.objects.get(pk=here.pk).status == "accepted"
    assert captured_events[-1][0] == "appeal.updated"

    client.post(workflow_url(here), {"step": "assigned", "assignee": town.second_worker.pk, "content": "请协助"})
    assert Appeal.objects.get(pk=here.pk).assignee == town.second_worker

    client.post(workflow_url(here), {"step": "replied", "content": "明早处理"})
    client.post(workflow_url(here), {"step": "resolved", "content": "已处理"})
    appeal = Appeal.objects.get(pk=here.pk)
    assert appeal.status == "resolved"
    assert list(appeal.steps.order_by("at", "id").values_list("kind", "actor")) == [
        ("submitted", town.resident.pk),
        ("accepted", town.secretary.pk),
        ("assigned", town.secretary.pk),
        ("replied", town.secretary.pk),
        ("resolved", town.secretary.pk),
    ]


def test_a_refused_step_shows_why_and_changes_nothing(client, town, two_appeals):
    here, _there = two_appeals
    client.force_login(town.secretary)
    response = client.post(workflow_url(here), {"step": "resolved", "content": "已处理"}, follow=True)
    assert any("不能办结" in m for m in messages_of(response))
    response = client.post(workflow_url(here), {"step": "rejected", "content": ""}, follow=True)
    assert any("理由" in m for m in messages_of(response))
    response = client.post(workflow_url(here), {"step": "assigned"}, follow=True)
    assert any("承办人" in m for m in messages_of(response))
    response = client.post(workflow_url(here), {"step": "assigned", "assignee": town.other_worker.pk}, follow=True)
    assert messages_of(response)  # not a choice for this community
    assert Appeal.objects.get(pk=here.pk).status == "submitted"
    assert AppealStep.objects.filter(appeal=here).count() == 1
    assert client.get(workflow_url(here)).status_code == 405


def test_bulk_accept(client, town, file_appeal):
    first, second = file_appeal(), file_appeal()
    services.reject(appeal=second, by=town.secretary, reason="重复")
    client.force_login(town.secretary)
    response = client.post(
        reverse(CHANGELIST),
        {"action": "accept_selected", "_selected_action": [first.pk, second.pk]},
        follow=True,
    )
    assert response.status_code == 200
    assert Appeal.objects.get(pk=first.pk).status == "accepted"
    assert Appeal.objects.get(pk=second.pk).status == "rejected"


def _intake(town, **overrides) -> dict:
    data = {
        "client_id": str(uuid.uuid4()),
        "source": "hotline",
        "ticket_number": "YY2026050800042",
        "community": town.community.pk,
        "estate": town.estate.pk,
        "place": "",
        "category": "facilities",
        "urgency": "utilities",
        "content": "12345转办: 东湖雅苑3栋停水",
        "contact_name": "王女士",
        "contact_phone": "13812345678",
    }
    data.update(overrides)
    return data


def test_staff_register_a_hotline_ticket_in_the_console(client, town):
    client.force_login(town.staff)
    add = reverse("admin:appeals_appeal_add")
    page = client.get(add)
    assert page.status_code == 200
    assert [c.pk for c in page.context["form"].fields["community"].queryset] == [town.community.pk]

    data = _intake(town)
    response = client.post(add, data)
    appeal = Appeal.objects.get()
    assert response.status_code == 302 and response["Location"] == change_url(appeal)
    assert (appeal.source, appeal.ticket_number, appeal.filed_by) == ("hotline", "YY2026050800042", town.staff)
    assert appeal.grid == town.grid

    # A double submit of the same form files nothing new; a reused ticket is refused on the form.
    client.post(add, data)
    assert Appeal.objects.count() == 1
    again = client.post(add, _intake(town))
    assert again.status_code == 200
    assert "已登记" in str(again.context["form"].errors)
    assert Appeal.objects.count() == 1


def test_intake_refusals_write_nothing(client, town):
    client.force_login(town.staff)
    add = reverse("admin:appeals_appeal_add")
    for overrides in (
        {"community": town.other_community.pk},
        {"ticket_number": ""},
        {"estate": town.other_estate.pk},
        {"contact_phone": "nope"},
    ):
        response = client.post(add, _intake(town, **overrides))
        assert response.status_code == 200
        assert response.context["form"].errors
    assert not Appeal.objects.exists()


def test_grid_workers_cannot_use_the_intake_form(client, town):
    client.force_login(town.worker)
    assert client.get(reverse("admin:appeals_appeal_add")).status_code == 403


def test_appeals_are_never_edited_or_deleted_in_place(client, town, two_appeals):
    here, _there = two_appeals
    client.force_login(town.secretary)
    assert client.post(reverse("admin:appeals_appeal_delete", args=[here.pk]), {"post": "yes"}).status_code == 403
    client.post(change_url(here), {"content": "改过的内容", "status": "resolved"})
    appeal = Appeal.objects.get(pk=here.pk)
    assert (appeal.status, appeal.content) == ("submitted", here.content)
