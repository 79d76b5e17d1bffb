"""三会一课 and branch work: leave before the start, decided by staff; minutes; photos on the record."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from backend.activities import services
from backend.activities.models import Activity, ActivityPhoto, LeaveRequest, Minutes
from backend.core.errors import DomainError
from backend.notices.models import NoticeReceipt
from tests import factories
from tests.activities.factories import ActivityFactory, document_upload, enrol, image_upload, party_member

pytestmark = pytest.mark.django_db


@pytest.fixture
def branch(community):
    return factories.OrganizationFactory(community=community)


@pytest.fixture
def meeting(community, branch):
    return ActivityFactory(
        community=community,
        category=Activity.Category.THREE_MEETINGS_ONE_LESSON,
        audience=Activity.Audience.BRANCH,
        branch=branch,
        starts_at=timezone.now() + timedelta(days=1),
        ends_at=timezone.now() + timedelta(days=1, hours=2),
    )


@pytest.fixture
def member(branch):
    return party_member(organization=branch).user


# Leave ------------------------------------------------------------------------------------------------


def test_a_member_asks_for_leave_and_staff_approve(
    as_user, community, meeting, member, django_capture_on_commit_callbacks
):
    url = f"/api/v1/activities/{meeting.pk}/leave/"
    response = as_user(member).post(url, {"reason": "外出培训"}, format="json")
    assert response.status_code == 201 and response.json()["status"] == "pending"
    again = as_user(member).post(url, {"reason": "再问一次"}, format="json")
    assert again.status_code == 200 and again.json()["id"] == response.json()["id"]
    leave_id = response.json()["id"]

    assert as_user(member).post(f"/api/v1/activities/leave-requests/{leave_id}/approve/").status_code == 403
    staff = factories.staff_of(community)
    listed = as_user(staff).get(f"/api/v1/activities/leave-requests/?activity={meeting.pk}").json()
    assert [row["id"] for row in listed["results"]] == [leave_id]
    with django_capture_on_commit_callbacks(execute=True):
        decided = as_user(staff).post(f"/api/v1/activities/leave-requests/{leave_id}/approve/", {"note": "同意"})
    assert decided.status_code == 200 and decided.json()["status"] == "approved"
    assert decided.json()["decided_by"] == staff.pk
    assert NoticeReceipt.objects.filter(user=member, notice__title__contains="请假已批准").exists()
    again = as_user(staff).post(f"/api/v1/activities/leave-requests/{leave_id}/reject/", {"note": "改主意"})
    assert again.status_code == 409 and again.json()["code"] == "invalid_transition"


def test_rejecting_needs_a_note(community, meeting, member):
    staff = factories.staff_of(community)
    leave = services.request_leave(activity=meeting, by=member, reason="身体不适").leave
    with pytest.raises(DomainError) as caught:
        services.reject_leave(leave=leave, by=staff, note="")
    assert caught.value.fields and "note" in caught.value.fields
    leave = services.reject_leave(leave=leave, by=staff, note="请准时参加")
    assert leave.status == "rejected"
    # A rejected request leaves room for a new one.
    assert services.request_leave(activity=meeting, by=member, reason="家中有事").created


def test_the_owner_rejecting_their_own_leave_without_a_note_is_refused_403_not_400(as_user, meeting, member):
    # Authorization before validation: the missing note is not the member's problem to hear about.
    leave = services.request_leave(activity=meeting, by=member, reason="身体不适").leave
    response = as_user(member).post(f"/api/v1/activities/leave-requests/{leave.pk}/reject/", {"note": ""})
    assert response.status_code == 403, response.content
    assert response.json()["code"] == "permission_denied"
    with pytest.raises(DomainError) as caught:
        services.reject_leave(leave=leave, by=member, note="")
    assert caught.value.code == "permission_denied"
    leave.refresh_from_db()
    assert leave.status == "pending" and leave.decided_by is None


@pytest.mark.parametrize("decision", ["approve", "reject"])
def test_staff_never_decide_their_own_leave(as_user, community, meeting, branch, decision):
    # A secretary who is also a member of the branch asks to be excused from her own meeting.
    staff = factories.staff_of(community)
    party_member(organization=branch, user=staff)
    response = as_user(staff).post(f"/api/v1/activities/{meeting.pk}/leave/", {"reason": "外出开会"}, format="json")
    assert response.status_code == 201, response.content
    leave_id = response.json()["id"]
    # 403 before what is wrong with the request: an empty note is not what she hears.
    for note in ("", "同意"):
        answer = as_user(staff).post(f"/api/v1/activities/leave-requests/{leave_id}/{decision}/", {"note": note})
        assert answer.status_code == 403, answer.content
        assert answer.json()["code"] == "permission_denied" and "本人" in answer.json()["detail"]
    leave = LeaveRequest.objects.get(pk=leave_id)
    assert leave.status == "pending" and leave.decided_by is None
    # Another secretary of the community decides it.
    colleague = factories.staff_of(community)
    decided = as_user(colleague).post(f"/api/v1/activities/leave-requests/{leave_id}/{decision}/", {"note": "好"})
    assert decided.status_code == 200 and decided.json()["decided_by"] == colleague.pk


def test_the_console_shows_the_refusal_of_deciding_ones_own_leave(client, community, meeting, branch):
    staff = factories.staff_of(community)
    party_member(organization=branch, user=staff)
    leave = services.request_leave(activity=meeting, by=staff, reason="外出开会").leave
    client.force_login(staff)
    page = client.post(f"/admin/activities/leaverequest/{leave.pk}/approve_one/", {}, follow=True)
    assert "不能审批本人的请假" in page.content.decode()
    listing = client.post(
        "/admin/activities/leaverequest/",
        {"action": "approve", "_selected_action": [leave.pk], "reason": ""},
        follow=True,
    )
    assert "不能审批本人的请假" in listing.content.decode()
    leave.refresh_from_db()
    assert leave.status == "pending" and leave.decided_by is None


def test_cancelling_without_a_reason_is_refused_as_forbidden_to_a_member(community, meeting, member):
    with pytest.raises(DomainError) as caught:
        services.cancel_activity(activity=meeting, by=member, reason="")
    assert caught.value.code == "permission_denied"
    meeting.refresh_from_db()
    assert meeting.status == Activity.Status.PUBLISHED


def test_leave_only_before_the_start(community, branch, member):
    now = timezone.now()
    started = ActivityFactory(
        community=community,
        category="party_lesson",
        audience="branch",
        branch=branch,
        starts_at=now - timedelta(minutes=5),
        ends_at=now + timedelta(hours=1),
    )
    with pytest.raises(DomainError) as caught:
        services.request_leave(activity=started, by=member, reason="迟到")
    assert caught.value.code == "not_open"
    assert not LeaveRequest.objects.exists()


def test_leave_only_for_branch_meetings_and_their_people(community, meeting):
    day = ActivityFactory(community=community, category="party_day")
    with pytest.raises(DomainError) as caught:
        services.request_leave(activity=day, by=enrol(day).user, reason="有事")
    assert caught.value.code == "validation_error"
    outsider = party_member(community, organization=factories.OrganizationFactory(community=community)).user
    with pytest.raises(DomainError) as caught:
        services.request_leave(activity=meeting, by=outsider, reason="有事")
    assert caught.value.code == "not_in_audience"
    with pytest.raises(DomainError) as caught:
        services.request_leave(activity=meeting, by=party_member(organization=meeting.branch).user, reason=" ")
    assert caught.value.fields and "reason" in caught.value.fields


def test_someone_it_is_not_for_hears_403_before_what_is_wrong_with_the_request(as_user, community, other_community):
    # Not a meeting and not theirs: who may ask comes before what may be asked for.
    day = ActivityFactory(community=community, category="party_day")
    stranger = factories.UserFactory(community=other_community)
    response = as_user(stranger).post(f"/api/v1/activities/{day.pk}/leave/", {"reason": "有事"}, format="json")
    assert response.status_code == 403 and response.json()["code"] == "not_in_audience"
    with pytest.raises(DomainError) as caught:
        services.request_leave(activity=day, by=stranger, reason="有事")
    assert caught.value.code == "not_in_audience"
    assert not LeaveRequest.objects.exists()


def test_members_see_only_their_own_leave(as_user, community, meeting, member, branch):
    other = party_member(organization=branch).user
    services.request_leave(activity=meeting, by=member, reason="出差")
    services.request_leave(activity=meeting, by=other, reason="生病")
    mine = as_user(member).get(f"/api/v1/activities/{meeting.pk}/leave/").json()
    assert [row["user"] for row in mine] == [member.pk]
    staff_view = as_user(factories.staff_of(community)).get(f"/api/v1/activities/{meeting.pk}/leave/").json()
    assert {row["user"] for row in staff_view} == {member.pk, other.pk}
    outsider_staff = factories.staff_of(factories.CommunityFactory())
    assert as_user(outsider_staff).get("/api/v1/activities/leave-requests/").json()["count"] == 0


def test_staff_reading_others_leave_reasons_are_audited(as_user, community, meeting, member, branch):
    from backend.accounts.models import PersonalDataAccess

    other = party_member(organization=branch).user
    mine = services.request_leave(activity=meeting, by=member, reason="出差").leave
    theirs = services.request_leave(activity=meeting, by=other, reason="生病").leave
    as_user(member).get(f"/api/v1/activities/{meeting.pk}/leave/")
    assert not PersonalDataAccess.objects.exists()  # one's own reason is not a read of someone else's
    staff = factories.staff_of(community)
    client = as_user(staff)
    client.get(f"/api/v1/activities/{meeting.pk}/leave/")
    client.get("/api/v1/activities/leave-requests/")
    client.get(f"/api/v1/activities/leave-requests/{theirs.pk}/")
    reads = list(PersonalDataAccess.objects.filter(actor=staff).values_list("subject_id", "what", "object_id"))
    assert sorted(reads) == sorted(
        [
            (member.pk, "leave_request", mine.pk),
            (other.pk, "leave_request", theirs.pk),
            (member.pk, "leave_request", mine.pk),
            (other.pk, "leave_request", theirs.pk),
            (other.pk, "leave_request", theirs.pk),
        ]
    )


# Minutes --------------------------------------------------------------------------------------------


def test_staff_keep_minutes_with_attachments(as_user, community, meeting, member):
    staff, colleague = factories.staff_of(community), factories.staff_of(community)
    agenda = document_upload(staff)
    url = f"/api/v1/activities/{meeting.pk}/minutes/"
    response = as_user(staff).put(
        url, {"topics": "学习党章", "decisions": "发展对象一名", "attachments": [agenda.pk]}, format="json"
    )
    assert response.status_code == 200, response.json()
    assert response.json()["attachments"][0]["id"] == agenda.pk
    # A colleague revises: the file someone else attached may stay; their own may be added.
    photo = image_upload(colleague)
    response = as_user(colleague).post(
        url, {"topics": "学习党章(修订)", "attachments": [agenda.pk, photo.pk]}, format="json"
    )
    assert response.status_code == 200
    minutes = Minutes.objects.get()
    assert minutes.recorded_by == staff and minutes.updated_by == colleague
    assert set(minutes.attachments.values_list("pk", flat=True)) == {agenda.pk, photo.pk}
    # Someone else's upload that is not attached already reads as missing.
    stranger_file = document_upload(factories.UserFactory())
    response = as_user(staff).put(url, {"topics": "x", "attachments": [stranger_file.pk]}, format="json")
    assert response.status_code == 400 and "attachments" in response.json()["fields"]
    # Participants read them; members of the branch who did not take part do not.
    enrol(meeting, member)
    assert as_user(member).get(url).json()["topics"] == "学习党章(修订)"
    assert as_user(party_member(organization=meeting.branch).user).get(url).status_code == 404


def test_minutes_only_for_meetings_and_only_by_staff(as_user, community, member, meeting):
    day = ActivityFactory(community=community, category="party_day")
    staff = factories.staff_of(community)
    response = as_user(staff).put(f"/api/v1/activities/{day.pk}/minutes/", {"topics": "x"}, format="json")
    assert response.status_code == 400
    response = as_user(member).put(f"/api/v1/activities/{meeting.pk}/minutes/", {"topics": "x"}, format="json")
    assert response.status_code == 404
    assert not Minutes.objects.exists()


# Photos ----------------------------------------------------------------------------------------------


def test_participants_and_staff_add_photos(as_user, community):
    activity = ActivityFactory(community=community)
    participant = enrol(activity).user
    url = f"/api/v1/activities/{activity.pk}/photos/"
    first = image_upload(participant)
    response = as_user(participant).post(url, {"uploads": [first.pk, first.pk]}, format="json")
    assert response.status_code == 201 and [p["upload"] for p in response.json()] == [first.pk]
    again = as_user(participant).post(url, {"uploads": [first.pk]}, format="json")
    assert again.status_code == 201 and len(again.json()) == 1
    staff = factories.staff_of(community)
    assert as_user(staff).post(url, {"uploads": [image_upload(staff).pk]}, format="json").status_code == 201
    assert len(as_user(factories.UserFactory(community=community)).get(url).json()) == 2


def test_photos_are_refused_from_others_and_of_the_wrong_kind(as_user, community):
    activity = ActivityFactory(community=community)
    participant = enrol(activity).user
    url = f"/api/v1/activities/{activity.pk}/photos/"
    bystander = factories.UserFactory(community=community)
    response = as_user(bystander).post(url, {"uploads": [image_upload(bystander).pk]}, format="json")
    assert response.status_code == 403 and response.json()["code"] == "permission_denied"
    someone_elses = image_upload(factories.UserFactory())
    response = as_user(participant).post(url, {"uploads": [someone_elses.pk]}, format="json")
    assert response.status_code == 400 and "uploads" in response.json()["fields"]
    response = as_user(participant).post(url, {"uploads": [document_upload(participant).pk]}, format="json")
    assert response.status_code == 400
    response = as_user(participant).post(url, {"uploads": []}, format="json")
    assert response.status_code == 400
    assert not ActivityPhoto.objects.exists()


def test_a_revoked_member_who_left_the_meeting_sees_it_no_more(as_user, community, meeting, branch):
    from backend.members import services as member_services
    from backend.members.models import MemberRegistration
    from tests.activities.factories import party_member

    dave = party_member(community, organization=branch).user
    url = f"/api/v1/activities/{meeting.pk}/"
    assert as_user(dave).post(f"{url}enrollment/").status_code in (200, 201)
    asked = as_user(dave).post(f"{url}leave/", {"reason": "出差"})
    assert asked.status_code == 201, asked.json()

    registration = MemberRegistration.objects.get(member__user=dave)
    member_services.revoke_registration(registration=registration, by=factories.staff_of(community), reason="迁出")
    assert as_user(dave).delete(f"{url}enrollment/").status_code == 204

    assert as_user(dave).get(url).status_code == 404
    again = as_user(dave).post(f"{url}leave/", {"reason": "出差"})
    assert again.status_code == 404
    with pytest.raises(DomainError) as refused:
        services.request_leave(activity=meeting, by=dave, reason="出差")
    assert refused.value.code == "not_in_audience"
    # The request he left behind was ended with his membership, not left for staff to decide.
    leave = LeaveRequest.objects.get(user=dave)
    assert leave.status == LeaveRequest.Status.REJECTED and leave.decided_at is not None
    listed = as_user(dave).get("/api/v1/activities/").json()["results"]
    assert meeting.pk not in [row["id"] for row in listed]


def test_withdrawing_a_registration_ends_pending_leave_only_for_meetings_no_longer_theirs(community, meeting, branch):
    from backend.members import services as member_services
    from backend.members.models import MemberRegistration
    from tests.activities.factories import party_member

    open_meeting = ActivityFactory(
        community=community,
        category=Activity.Category.THREE_MEETINGS_ONE_LESSON,
        audience=Activity.Audience.COMMUNITY,
        starts_at=timezone.now() + timedelta(days=1),
        ends_at=timezone.now() + timedelta(days=1, hours=2),
    )
    dave = party_member(community, organization=branch).user
    dave.community = community
    dave.save(update_fields=["community"])
    services.request_leave(activity=meeting, by=dave, reason="出差")
    services.request_leave(activity=open_meeting, by=dave, reason="出差")
    stayer = party_member(community, organization=branch).user
    services.request_leave(activity=meeting, by=stayer, reason="出差")

    registration = MemberRegistration.objects.get(member__user=dave)
    member_services.withdraw_registration(registration=registration, by=dave)

    statuses = dict(LeaveRequest.objects.filter(user=dave).values_list("activity_id", "status"))
    assert statuses == {meeting.pk: "rejected", open_meeting.pk: "pending"}
    assert LeaveRequest.objects.get(user=stayer).status == "pending"


def test_leave_denials_come_before_the_bodys_errors(as_user, community, meeting, member):
    # Authorization before validation: someone the meeting is not for, or who may not decide, hears
    # 403 whatever the body holds, never what is wrong with it.
    lesson = ActivityFactory(
        community=community, category=Activity.Category.PARTY_LESSON, starts_at=timezone.now() + timedelta(days=1)
    )
    outsider = factories.staff_of(factories.CommunityFactory())
    for body in ({}, {"reason": ["出差"]}):
        response = as_user(outsider).post(f"/api/v1/activities/{lesson.pk}/leave/", body, format="json")
        assert response.status_code == 403, response.content
    leave = services.request_leave(activity=meeting, by=member, reason="身体不适").leave
    for decision in ("approve", "reject"):
        response = as_user(member).post(
            f"/api/v1/activities/leave-requests/{leave.pk}/{decision}/", {"note": ["x"]}, format="json"
        )
        assert response.status_code == 403, response.content
    assert LeaveRequest.objects.get(pk=leave.pk).status == "pending"


def test_the_consoles_minutes_form_says_the_services_refusal_beside_the_field(meeting):
    # The form asks the service's own check, so a draft meeting is refused with its words, before saving.
    from backend.activities.admin import MinutesForm

    meeting.status = Activity.Status.DRAFT
    meeting.save(update_fields=["status"])
    form = MinutesForm(data={"activity": meeting.pk, "topics": "学习党章"})
    form.fields["activity"].queryset = Activity.objects.all()
    assert not form.is_valid()
    assert "只有已发布或已结束的活动可以记录会议记录" in str(form.errors)
    meeting.status = Activity.Status.PUBLISHED
    meeting.save(update_fields=["status"])
    form = MinutesForm(data={"activity": meeting.pk, "topics": "学习党章"})
    form.fields["activity"].queryset = Activity.objects.all()
    assert form.is_valid(), form.errors
