"""Staff recording a volunteer's document from the signed paper form (volunteers.documents): the API's
rules (check digit, encryption, uniqueness, consent to the current notice), staff of the volunteer's
place only, asked before anything about the number, and every time an audit row."""

from __future__ import annotations

import pytest

from backend.accounts.models import PersonalDataAccess
from backend.core import crypto
from backend.core.errors import DomainError
from backend.volunteers.documents import AUDIT_WHAT, record_id_number
from backend.volunteers.models import IdType, Volunteer
from tests import factories
from tests.volunteers.factories import VolunteerFactory, id_number, with_id

pytestmark = pytest.mark.django_db

VERSION = "2026-01"


def _record(volunteer, by, number, **extra):
    values = {"id_type": IdType.RESIDENT_ID, "id_number": number, "consent": True, "consent_version": VERSION}
    return record_id_number(volunteer=volunteer, by=by, **{**values, **extra})


def _stored(volunteer) -> tuple[str, str, str | None]:
    volunteer.refresh_from_db()
    return volunteer.id_number_encrypted, volunteer.id_number_masked, volunteer.id_number_hash


def test_the_secretary_records_a_number_encrypted_masked_and_audited(volunteer, secretary):
    number = id_number()
    _record(volunteer, secretary, f" {number[:-1]}{number[-1].lower()} ")
    volunteer.refresh_from_db()
    assert crypto.decrypt(volunteer.id_number_encrypted) == number
    assert number not in volunteer.id_number_encrypted
    assert volunteer.id_number_masked == f"{number[:3]}{'*' * 11}{number[-4:]}"
    assert (volunteer.id_type, volunteer.consent_version) == (IdType.RESIDENT_ID, VERSION)
    assert volunteer.consent_at is not None
    audit = PersonalDataAccess.objects.get(what=AUDIT_WHAT)
    assert (audit.actor, audit.subject, audit.object_id) == (secretary, volunteer.user, volunteer.pk)


def test_the_street_admin_records_for_a_community_of_the_street(volunteer, street):
    _record(volunteer, factories.admin_of(street), id_number())
    assert Volunteer.objects.get(pk=volunteer.pk).has_id_number


@pytest.mark.parametrize("bad", ["43060219900101001", "430602199001010010", "43060219901301001X", "abc"])
def test_a_wrong_number_is_refused_and_nothing_is_stored(volunteer, secretary, bad):
    number = id_number()
    wrong_check = number[:-1] + ("0" if number[-1] != "0" else "1")
    for value in (bad, wrong_check):
        with pytest.raises(DomainError) as refused:
            _record(volunteer, secretary, value)
        assert "id_number" in refused.value.fields
    assert _stored(volunteer) == ("", "", None)
    assert not PersonalDataAccess.objects.exists()


def test_without_the_volunteers_consent_nothing_is_stored(volunteer, secretary):
    with pytest.raises(DomainError) as refused:
        _record(volunteer, secretary, id_number(), consent=False)
    assert refused.value.code == "consent_required"
    with pytest.raises(DomainError) as outdated:
        _record(volunteer, secretary, id_number(), consent_version="2025-01")
    assert outdated.value.code == "consent_required"
    assert _stored(volunteer) == ("", "", None)


def test_another_communitys_secretary_hears_permission_denied_before_the_number(volunteer, other_secretary):
    # A bad number and no consent: whoever may not act hears only that.
    with pytest.raises(DomainError) as refused:
        _record(volunteer, other_secretary, "nonsense", consent=False)
    assert refused.value.code == "permission_denied"
    assert _stored(volunteer) == ("", "", None)
    assert not PersonalDataAccess.objects.exists()


def test_a_resident_may_not_record_anyones_number(volunteer, resident):
    with pytest.raises(DomainError) as refused:
        _record(volunteer, resident, id_number())
    assert refused.value.code == "permission_denied"


def test_a_number_another_volunteer_holds_is_refused(volunteer, secretary, community):
    taken = id_number()
    with_id(VolunteerFactory(community=community), taken)
    with pytest.raises(DomainError) as refused:
        _record(volunteer, secretary, taken)
    # A validation error that names no one; a malformed number is told what is wrong with it.
    assert (refused.value.code, refused.value.status) == ("validation_error", 400)
    assert refused.value.fields == {"id_number": ["证件号码无法登记, 请核对后重新填写"]}
    with pytest.raises(DomainError) as malformed:
        _record(volunteer, secretary, "430602198001011234")
    assert "校验位" in str(malformed.value.fields["id_number"])
    assert _stored(volunteer) == ("", "", None)


def test_a_wrong_number_is_corrected_and_the_old_one_is_gone(volunteer, secretary):
    first, second = id_number(), id_number()
    _record(volunteer, secretary, first)
    _record(volunteer, secretary, second)
    volunteer.refresh_from_db()
    assert crypto.decrypt(volunteer.id_number_encrypted) == second
    assert PersonalDataAccess.objects.filter(what=AUDIT_WHAT).count() == 2


def test_numbers_staff_record_count_against_each_volunteer_not_against_the_secretary(settings, secretary, community):
    settings.ID_NUMBER_ATTEMPTS_PER_DAY = 1
    volunteers = [VolunteerFactory(community=community) for _ in range(3)]
    numbers = [id_number() for _ in volunteers]
    for volunteer, number in zip(volunteers, numbers, strict=True):
        _record(volunteer, secretary, number)
    with pytest.raises(DomainError) as refused:
        _record(volunteers[0], secretary, id_number())
    assert (refused.value.code, refused.value.status) == ("throttled", 429)
    assert crypto.decrypt(Volunteer.objects.get(pk=volunteers[0].pk).id_number_encrypted) == numbers[0]
