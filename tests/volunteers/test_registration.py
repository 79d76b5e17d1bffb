"""Registration through volunteers/me/: idempotent, ID numbers only with consent, encrypted and masked."""

from __future__ import annotations

import pytest

from backend.core import crypto
from backend.core.errors import DomainError
from backend.core.events import provided_user_ids
from backend.volunteers import services
from backend.volunteers.models import IdType, Volunteer
from tests import factories
from tests.volunteers.factories import VolunteerFactory, id_number

pytestmark = pytest.mark.django_db
URL = "/api/v1/volunteers/me/"


def test_first_post_registers_and_a_second_answers_200_with_the_same_profile(as_user, resident, community):
    client = as_user(resident)
    first = client.post(URL, {"community": community.pk, "real_name": "李雷", "skills": "急救"})
    assert first.status_code == 201, first.content
    body = first.json()
    assert body["volunteer_number"] == f"V{community.pk:05d}-000001"
    assert body["total_hours"] == "0.00"
    assert body["star_level"] == 0
    assert body["next_star_hours"] == "100.00"
    assert body["real_name"] == "李雷"

    again = client.post(URL, {"community": community.pk, "real_name": "别的名字"})
    assert again.status_code == 200
    assert again.json()["id"] == body["id"]
    assert again.json()["real_name"] == "李雷"
    assert Volunteer.objects.filter(user=resident).count() == 1


def test_numbers_run_per_community_and_never_change(as_user, community, other_community):
    first, second, elsewhere = factories.UserFactory(), factories.UserFactory(), factories.UserFactory()
    a = as_user(first).post(URL, {"community": community.pk}).json()
    b = as_user(second).post(URL, {"community": community.pk}).json()
    c = as_user(elsewhere).post(URL, {"community": other_community.pk}).json()
    assert (a["volunteer_number"], b["volunteer_number"]) == (
        f"V{community.pk:05d}-000001",
        f"V{community.pk:05d}-000002",
    )
    assert c["volunteer_number"] == f"V{other_community.pk:05d}-000001"

    moved = as_user(first).patch(URL, {"community": other_community.pk})
    assert moved.status_code == 200
    assert moved.json()["community"] == other_community.pk
    assert moved.json()["volunteer_number"] == a["volunteer_number"]


def test_home_community_is_the_default_and_is_required(as_user, community):
    with_home = factories.UserFactory(community=community)
    assert as_user(with_home).post(URL, {}).status_code == 201
    homeless = factories.UserFactory()
    response = as_user(homeless).post(URL, {})
    assert response.status_code == 400
    assert response.json()["code"] == "validation_error"
    assert "community" in response.json()["fields"]
    assert not Volunteer.objects.filter(user=homeless).exists()


def test_id_number_is_stored_encrypted_hashed_and_shown_masked(as_user, resident, community):
    number = id_number()
    response = as_user(resident).post(
        URL, {"community": community.pk, "id_type": "resident_id", "id_number": number, "consent": True}
    )
    assert response.status_code == 201, response.content
    assert response.json()["id_number_masked"] == f"{number[:3]}{'*' * 11}{number[-4:]}"
    assert number not in response.content.decode()
    volunteer = Volunteer.objects.get(user=resident)
    assert number not in volunteer.id_number_encrypted
    assert crypto.decrypt(volunteer.id_number_encrypted) == number
    assert volunteer.id_number_hash == crypto.keyed_hash(f"resident_id:{number}")
    assert volunteer.consent_version == "2026-01" and volunteer.consent_at is not None


def test_id_number_without_consent_is_refused_and_nothing_stored(as_user, resident, community):
    response = as_user(resident).post(URL, {"community": community.pk, "id_number": id_number()})
    assert response.status_code == 400
    assert response.json()["code"] == "consent_required"
    assert not Volunteer.objects.exists()


def test_outdated_consent_version_is_refused(as_user, resident, community):
    response = as_user(resident).post(
        URL, {"community": community.pk, "id_number": id_number(), "consent": True, "privacy_notice_version": "2020-01"}
    )
    assert response.status_code == 400
    assert response.json()["code"] == "consent_required"


@pytest.mark.parametrize(
    ("id_type", "number"),
    [("resident_id", "430602199001010000"), ("resident_id", "12345"), ("passport", "E1"), ("bogus", "E12345678")],
)
def test_bad_documents_are_refused_in_the_error_format(as_user, resident, community, id_type, number):
    response = as_user(resident).post(
        URL, {"community": community.pk, "id_type": id_type, "id_number": number, "consent": True}
    )
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "validation_error"
    assert set(body["fields"]) & {"id_number", "id_type"}
    assert not Volunteer.objects.exists()


def test_other_documents_are_masked_too(as_user, resident, community):
    response = as_user(resident).post(
        URL, {"community": community.pk, "id_type": "passport", "id_number": "e 1234 5678", "consent": True}
    )
    assert response.status_code == 201
    assert response.json()["id_number_masked"] == "E1*****78"


def test_the_same_document_cannot_belong_to_two_volunteers(as_user, community):
    number = id_number()
    body = {"community": community.pk, "id_number": number, "consent": True}
    assert as_user(factories.UserFactory()).post(URL, body).status_code == 201
    second = factories.UserFactory()
    response = as_user(second).post(URL, body)
    # A validation error on the number that names no one (the daily bound limits how often it can be asked).
    assert response.status_code == 400 and response.json()["fields"] == {
        "id_number": ["证件号码无法登记, 请核对后重新填写"]
    }
    assert not Volunteer.objects.filter(user=second).exists()


def test_get_and_patch_before_registering_answer_404(as_user, resident):
    client = as_user(resident)
    assert client.get(URL).json()["code"] == "not_found"
    assert client.patch(URL, {"skills": "x"}).status_code == 404


def test_patch_through_method_override_adds_the_id_with_consent(as_user, resident, community):
    client = as_user(resident)
    client.post(URL, {"community": community.pk})
    number = id_number()
    refused = client.post(URL, {"id_number": number}, HTTP_X_HTTP_METHOD_OVERRIDE="PATCH")
    assert refused.status_code == 400 and refused.json()["code"] == "consent_required"
    done = client.post(URL, {"id_number": number, "consent": True}, HTTP_X_HTTP_METHOD_OVERRIDE="PATCH")
    assert done.status_code == 200
    assert done.json()["id_type"] == IdType.RESIDENT_ID
    assert done.json()["id_number_masked"].endswith(number[-4:])


def test_blank_name_is_refused_on_patch(as_user, resident, community):
    client = as_user(resident)
    client.post(URL, {"community": community.pk, "real_name": "韩梅梅"})
    response = client.patch(URL, {"real_name": "   "})
    assert response.status_code == 400
    assert Volunteer.objects.get(user=resident).real_name == "韩梅梅"


def test_anonymous_is_refused(api):
    assert api.get(URL).status_code == 401
    assert api.post(URL, {}).json()["code"] == "not_authenticated"


def test_register_service_directly_is_idempotent(resident, community):
    volunteer, created = services.register_volunteer(by=resident, community=community)
    again, created_again = services.register_volunteer(by=resident, community=community, real_name="x")
    assert created and not created_again
    assert again.pk == volunteer.pk


def test_volunteers_join_their_community_and_street_notice_audiences(community, other_community):
    volunteer = VolunteerFactory(community=community)
    VolunteerFactory(community=other_community)
    assert volunteer.user_id in provided_user_ids("community", (community.pk,))
    assert provided_user_ids("community", (community.pk,)) & {volunteer.user_id} == {volunteer.user_id}
    assert volunteer.user_id in provided_user_ids("street", (community.street_id,))
    ids = provided_user_ids("community", (other_community.pk,))
    assert volunteer.user_id not in ids


def test_staff_list_volunteers_in_scope_with_totals(as_user, community, other_community, secretary):
    mine = VolunteerFactory(community=community)
    VolunteerFactory(community=other_community)
    response = as_user(secretary).get("/api/v1/volunteers/")
    assert response.status_code == 200
    assert [row["id"] for row in response.json()["results"]] == [mine.pk]
    assert response.json()["results"][0]["total_hours"] == "0.00"
    assert as_user(factories.staff_of(other_community)).get(f"/api/v1/volunteers/{mine.pk}/").status_code == 404
    assert as_user(secretary).get(f"/api/v1/volunteers/{mine.pk}/").status_code == 200


def test_only_the_volunteer_changes_their_profile_whatever_the_input(resident, community):
    volunteer = VolunteerFactory(community=community, real_name="韩梅梅")
    # Someone else hears 403 even with input that is wrong in itself (a blank name).
    with pytest.raises(DomainError) as refused:
        services.update_volunteer(volunteer=volunteer, by=resident, real_name="   ")
    assert refused.value.code == "permission_denied"
    volunteer.refresh_from_db()
    assert volunteer.real_name == "韩梅梅"
    services.update_volunteer(volunteer=volunteer, by=volunteer.user, skills="理发")
    volunteer.refresh_from_db()
    assert volunteer.skills == "理发"
