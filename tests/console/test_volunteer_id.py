"""登记证件号码 on a volunteer's page: the secretary types in the number from the signed paper form,
through the API's rules (volunteers.documents); the console shows only the masked number."""

from __future__ import annotations

import pytest
from django.contrib.admin.models import LogEntry
from django.urls import reverse

from backend.accounts.models import PersonalDataAccess, Role
from backend.core import crypto
from backend.volunteers.documents import AUDIT_WHAT
from backend.volunteers.models import IdType, Volunteer
from tests import factories
from tests.volunteers.factories import VolunteerFactory, id_number

pytestmark = pytest.mark.django_db


def _url(volunteer) -> str:
    return reverse("admin:volunteers_volunteer_record_id_number", args=[volunteer.pk])


def _data(number: str, **extra) -> dict:
    return {"id_type": IdType.RESIDENT_ID, "id_number": number, "consent": "on", "consent_version": "2026-01", **extra}


def _stored(volunteer) -> str:
    return Volunteer.objects.get(pk=volunteer.pk).id_number_encrypted


def test_the_secretary_records_the_number_and_sees_it_masked(client, places):
    volunteer = VolunteerFactory(community=places.home, real_name="刘芳")
    number = id_number()
    client.force_login(places.secretary)
    change = reverse("admin:volunteers_volunteer_change", args=[volunteer.pk])
    assert f'href="{_url(volunteer)}"' in client.get(change).content.decode()
    ask = client.get(_url(volunteer)).content.decode()
    assert "同意现行隐私政策(版本 2026-01)" in ask

    done = client.post(_url(volunteer), _data(number))
    assert done.status_code == 302 and done["Location"] == change
    assert crypto.decrypt(_stored(volunteer)) == number
    masked = f"{number[:3]}{'*' * 11}{number[-4:]}"
    for page in (client.get(change), client.get(reverse("admin:volunteers_volunteer_changelist"))):
        text = page.content.decode()
        assert masked in text and number not in text
    assert LogEntry.objects.filter(object_id=str(volunteer.pk), user=places.secretary).exists()
    assert number not in str(LogEntry.objects.get(object_id=str(volunteer.pk)).change_message)
    assert PersonalDataAccess.objects.filter(what=AUDIT_WHAT, actor=places.secretary).count() == 1


def test_a_wrong_check_digit_is_shown_and_nothing_is_written(client, places):
    volunteer = VolunteerFactory(community=places.home)
    number = id_number()
    wrong = number[:-1] + ("0" if number[-1] != "0" else "1")
    client.force_login(places.secretary)
    response = client.post(_url(volunteer), _data(wrong))
    assert response.status_code == 200
    assert "身份证号校验位不正确" in response.content.decode()
    assert _stored(volunteer) == ""
    assert not LogEntry.objects.filter(object_id=str(volunteer.pk)).exists()
    assert not PersonalDataAccess.objects.filter(what=AUDIT_WHAT).exists()


def test_without_the_attested_consent_nothing_is_written(client, places):
    volunteer = VolunteerFactory(community=places.home)
    client.force_login(places.secretary)
    data = _data(id_number())
    del data["consent"]
    assert client.post(_url(volunteer), data).status_code == 200
    outdated = client.post(_url(volunteer), _data(id_number(), consent_version="2025-01"))
    assert outdated.status_code == 200 and "隐私政策已更新" in outdated.content.decode()
    assert _stored(volunteer) == ""


def test_outside_scope_it_is_a_404_and_nothing_changes(client, places):
    volunteer = VolunteerFactory(community=places.home)
    client.force_login(places.neighbour_secretary)
    assert client.get(_url(volunteer)).status_code == 404
    assert client.post(_url(volunteer), _data(id_number())).status_code == 404
    client.force_login(places.other_street_admin)
    assert client.post(_url(volunteer), _data(id_number())).status_code == 404
    assert _stored(volunteer) == ""
    assert not PersonalDataAccess.objects.filter(what=AUDIT_WHAT).exists()


def test_a_role_without_decisions_is_refused(client, places):
    volunteer = VolunteerFactory(community=places.home)
    worker = factories.UserFactory()
    factories.grant(worker, Role.GRID_WORKER, factories.GridFactory(community=places.home))
    client.force_login(worker)
    assert client.post(_url(volunteer), _data(id_number())).status_code in (403, 404)
    assert _stored(volunteer) == ""


def test_the_street_admin_records_for_his_streets_volunteer(client, places):
    volunteer = VolunteerFactory(community=places.neighbour)
    client.force_login(places.street_admin)
    assert client.post(_url(volunteer), _data(id_number())).status_code == 302
    assert _stored(volunteer) != ""
