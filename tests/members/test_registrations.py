"""双报到 of members: consent, filing, deciding, withdrawing, and the notice audience."""

import pytest

from backend.core.errors import DomainError
from backend.core.events import Audience, provided_user_ids
from backend.members import services
from backend.members.models import MemberRegistration, PartyMember, PostAssignment, PrivacyConsent
from tests import factories
from tests.members.factories import PostFactory, id_number, registered_member

pytestmark = pytest.mark.django_db

URL = "/api/v1/members/registrations/"
VALID_ID = id_number("43060219800101123")


@pytest.fixture
def unit_org():
    return factories.UnitOrganizationFactory(name="市教育局机关党支部")


@pytest.fixture
def payload(community, unit_org):
    return {
        "community": community.id,
        "organization": unit_org.id,
        "real_name": "张三",
        "phone": "13812345678",
        "status": "full",
        "joined_on": "2005-07-01",
        "employer": "市教育局",
        "consent": True,
    }


def nothing_stored():
    return not (PartyMember.objects.exists() or MemberRegistration.objects.exists() or PrivacyConsent.objects.exists())


def test_registration_flow_end_to_end(
    payload, community, resident, as_user, captured_events, django_capture_on_commit_callbacks
):
    grid = factories.GridFactory(community=community)
    secretary = factories.staff_of(community)

    filed = as_user(resident).post(URL, {**payload, "grid": grid.id, "id_number": VALID_ID.lower()})
    assert filed.status_code == 201, filed.json()
    body = filed.json()
    assert body["status"] == "pending"
    assert body["phone"] == "138****5678"
    assert body["id_number"] == VALID_ID[:3] + "*" * 11 + VALID_ID[-4:]
    assert body["consent_version"] == "2026-01"
    member = PartyMember.objects.get(user=resident)
    assert member.status == "full"
    assert VALID_ID not in member.id_number_encrypted
    assert member.consent.version == "2026-01" and member.consent.user == resident
    assert resident.id not in provided_user_ids("community", (community.id,))

    with django_capture_on_commit_callbacks(execute=True):
        approved = as_user(secretary).post(f"{URL}{body['id']}/approve/")
    assert approved.status_code == 200, approved.json()
    assert approved.json()["status"] == "approved"
    assert approved.json()["approved_at"] is not None
    assert [(e, d["id"], a) for e, d, a in captured_events] == [
        ("registration.approved", body["id"], Audience.user(resident))
    ]
    # Once approved, the member is in the community's (and its grid's) notice audience.
    assert resident.id in provided_user_ids("community", (community.id,))
    assert resident.id in provided_user_ids("grid", (grid.id,))
    assert resident.id in provided_user_ids("street", (community.street_id,))

    mine = as_user(resident).get("/api/v1/members/me/").json()
    assert mine["member"]["status"] == "full"
    assert mine["member"]["phone"] == "13812345678"  # one's own phone, in full
    assert mine["member"]["id_number"].startswith("430") and "*" in mine["member"]["id_number"]
    assert [r["status"] for r in mine["registrations"]] == ["approved"]

    # Moving away: withdrawn, posts there released, out of the audience; the history stays.
    post = PostFactory(community=community)
    services.claim_post(post=post, by=resident)
    withdrawn = as_user(resident).post(f"{URL}{body['id']}/withdraw/")
    assert withdrawn.status_code == 200
    assert withdrawn.json()["status"] == "withdrawn"
    assert not PostAssignment.objects.filter(left_at__isnull=True).exists()
    assert resident.id not in provided_user_ids("community", (community.id,))
    again = as_user(resident).post(f"{URL}{body['id']}/withdraw/")
    assert again.status_code == 200  # a retry changes nothing

    # And registering where they live now works, with the history kept.
    other = factories.CommunityFactory()
    second = as_user(resident).post(URL, {**payload, "community": other.id})
    assert second.status_code == 201
    assert MemberRegistration.objects.filter(member=member).count() == 2


def test_second_active_registration_is_409(payload, resident, as_user, other_community):
    client = as_user(resident)
    assert client.post(URL, payload).status_code == 201
    again = client.post(URL, {**payload, "community": other_community.id})
    assert again.status_code == 409
    assert again.json()["code"] == "already_registered"
    assert MemberRegistration.objects.count() == 1
    assert PrivacyConsent.objects.count() == 1


def test_approved_registration_still_blocks_a_second(payload, community, resident, as_user):
    registered_member(community, user=resident)
    response = as_user(resident).post(URL, payload)
    assert response.status_code == 409
    assert response.json()["code"] == "already_registered"


@pytest.mark.parametrize("consent", [None, False, "false"])
def test_consent_required_before_political_status_is_stored(payload, resident, as_user, consent):
    body = {k: v for k, v in payload.items() if k != "consent"}
    if consent is not None:
        body["consent"] = consent
    response = as_user(resident).post(URL, body)
    assert response.status_code == 400
    assert response.json()["code"] == "consent_required"
    assert nothing_stored()


def test_consent_to_an_outdated_notice_is_refused(payload, resident, as_user, settings):
    settings.PRIVACY_NOTICE_VERSION = "2026-06"
    response = as_user(resident).post(URL, {**payload, "privacy_notice_version": "2026-01"})
    assert response.status_code == 400
    assert response.json()["code"] == "consent_required"
    assert nothing_stored()
    ok = as_user(resident).post(URL, {**payload, "privacy_notice_version": "2026-06"})
    assert ok.status_code == 201
    assert ok.json()["consent_version"] == "2026-06"
    assert as_user(resident).get("/api/v1/members/privacy-notice/").json() == {"version": "2026-06"}


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"phone": "12345"}, "phone"),
        ({"status": "friend"}, "status"),
        ({"community": 999999}, "community"),
        ({"organization": 999999}, "organization"),
        ({"real_name": ""}, "real_name"),
        ({"id_number": "430602198001011234"}, "id_number"),  # wrong check digit
        ({"id_number": "430602198002301237"}, "id_number"),  # 30 February
        ({"joined_on": "2999-01-01"}, "joined_on"),
    ],
)
def test_bad_input_is_400_and_nothing_is_written(payload, resident, as_user, change, field):
    response = as_user(resident).post(URL, {**payload, **change})
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "validation_error"
    assert field in body["fields"]
    assert nothing_stored()


def test_grid_of_another_community_is_refused(payload, resident, as_user, other_community):
    grid = factories.GridFactory(community=other_community)
    response = as_user(resident).post(URL, {**payload, "grid": grid.id})
    assert response.status_code == 400
    assert "grid" in response.json()["fields"]
    assert nothing_stored()


def test_an_id_number_registered_by_someone_else_is_refused_naming_no_one(payload, resident, as_user):
    first = factories.UserFactory()
    assert as_user(first).post(URL, {**payload, "id_number": VALID_ID}).status_code == 201
    taken = as_user(resident).post(URL, {**payload, "id_number": VALID_ID})
    assert taken.status_code == 400 and taken.json()["fields"] == {"id_number": ["证件号码无法登记, 请核对后重新填写"]}
    assert "其他" not in str(taken.json()) and taken.json()["code"] == "validation_error"
    assert not PartyMember.objects.filter(user=resident).exists()


def test_anonymous_cannot_register(api, payload):
    response = api.post(URL, payload)
    assert response.status_code == 401
    assert nothing_stored()


def test_approval_by_another_communitys_staff_is_404(payload, resident, as_user, other_community, captured_events):
    registration_id = as_user(resident).post(URL, payload).json()["id"]
    outsider = factories.staff_of(other_community)
    for step in ("approve", "reject"):
        response = as_user(outsider).post(f"{URL}{registration_id}/{step}/", {"reason": "不符"})
        assert response.status_code == 404
        assert response.json()["code"] == "not_found"
    assert as_user(outsider).get(f"{URL}{registration_id}/").status_code == 404
    assert MemberRegistration.objects.get().status == "pending"
    assert captured_events == []


def test_member_cannot_approve_their_own(payload, resident, as_user):
    registration_id = as_user(resident).post(URL, payload).json()["id"]
    response = as_user(resident).post(f"{URL}{registration_id}/approve/")
    assert response.status_code == 403
    assert response.json()["code"] == "permission_denied"
    assert MemberRegistration.objects.get().status == "pending"


def test_street_admin_approves_in_their_street(payload, resident, as_user, street):
    registration_id = as_user(resident).post(URL, payload).json()["id"]
    response = as_user(factories.admin_of(street)).post(f"{URL}{registration_id}/approve/")
    assert response.status_code == 200


def test_the_member_rejecting_their_own_registration_hears_403_not_400(payload, resident, as_user):
    registration_id = as_user(resident).post(URL, payload).json()["id"]
    with pytest.raises(DomainError) as caught:
        services.reject_registration(
            registration=MemberRegistration.objects.get(pk=registration_id), by=resident, reason=""
        )
    assert caught.value.code == "permission_denied"
    assert MemberRegistration.objects.get().status == "pending"


def test_reject_needs_a_reason_and_tells_the_member(
    payload, community, resident, as_user, captured_events, django_capture_on_commit_callbacks
):
    registration_id = as_user(resident).post(URL, payload).json()["id"]
    secretary = as_user(factories.staff_of(community))
    blank = secretary.post(f"{URL}{registration_id}/reject/", {"reason": "  "})
    assert blank.status_code == 400
    assert "reason" in blank.json()["fields"]
    assert MemberRegistration.objects.get().status == "pending"
    with django_capture_on_commit_callbacks(execute=True):
        rejected = secretary.post(f"{URL}{registration_id}/reject/", {"reason": "不在本社区居住"})
    assert rejected.status_code == 200
    assert rejected.json()["status"] == "rejected"
    assert rejected.json()["reason"] == "不在本社区居住"
    assert [(e, a) for e, _d, a in captured_events] == [("registration.rejected", Audience.user(resident))]
    # A decided registration cannot be decided again.
    again = secretary.post(f"{URL}{registration_id}/approve/")
    assert again.status_code == 409
    assert again.json()["code"] == "invalid_transition"
    # And a rejected member may file again.
    assert as_user(resident).post(URL, payload).status_code == 201


def test_approving_twice_is_409(payload, community, resident, as_user):
    registration_id = as_user(resident).post(URL, payload).json()["id"]
    secretary = as_user(factories.staff_of(community))
    assert secretary.post(f"{URL}{registration_id}/approve/").status_code == 200
    again = secretary.post(f"{URL}{registration_id}/approve/")
    assert again.status_code == 409
    assert again.json()["code"] == "invalid_transition"


def test_only_the_member_withdraws(payload, community, resident, as_user):
    registration_id = as_user(resident).post(URL, payload).json()["id"]
    response = as_user(factories.staff_of(community)).post(f"{URL}{registration_id}/withdraw/")
    assert response.status_code == 403
    assert MemberRegistration.objects.get().status == "pending"
    stranger = as_user(factories.UserFactory()).post(f"{URL}{registration_id}/withdraw/")
    assert stranger.status_code == 404


def test_list_shows_own_and_staff_scope_with_masked_phones(payload, community, other_community, as_user):
    mine = factories.UserFactory()
    as_user(mine).post(URL, payload)
    as_user(factories.UserFactory()).post(URL, {**payload, "community": other_community.id})
    listed = as_user(mine).get(URL).json()
    assert listed["count"] == 1
    staff_view = as_user(factories.staff_of(community)).get(URL).json()
    assert staff_view["count"] == 1
    assert staff_view["results"][0]["phone"] == "138****5678"
    street_view = as_user(factories.admin_of(community.street)).get(URL, {"community": other_community.id}).json()
    assert street_view["count"] == 1


def test_registration_list_queries_do_not_grow(community, as_user, django_assert_max_num_queries):
    from tests.members.factories import RegistrationFactory

    secretary = as_user(factories.staff_of(community))
    RegistrationFactory.create_batch(2, community=community)
    with django_assert_max_num_queries(12) as few:
        assert secretary.get(URL).status_code == 200
    RegistrationFactory.create_batch(15, community=community)
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert secretary.get(URL).json()["count"] == 17


def test_concurrent_double_submit_leaves_one_registration(payload, resident, community, unit_org):
    # The second call of a double tap, after the first committed: refused, not a second row.
    kwargs = {
        "by": resident,
        "community": community,
        "organization": unit_org,
        "real_name": "张三",
        "phone": "13812345678",
        "status": "full",
        "consent": True,
    }
    services.register_member(**kwargs)
    from backend.core.errors import DomainError

    with pytest.raises(DomainError) as caught:
        services.register_member(**kwargs)
    assert caught.value.code == "already_registered"
    assert MemberRegistration.objects.count() == 1
