"""三单: the demand flow 群众点单 → 社区派单 / 党员接单 → 办结 → 确认 (or 取消), and who sees what."""

import uuid
from datetime import timedelta

import pytest
from django.utils import timezone

from backend.core import idempotency, scheduler
from backend.core.errors import DomainError
from backend.core.models import Upload
from backend.members import services
from backend.members.models import Demand, DemandStep, PointsEntry
from tests import factories
from tests.members.factories import DemandFactory, registered_member, registered_unit

pytestmark = pytest.mark.django_db

DEMANDS = "/api/v1/demands/"


def upload_for(user, kind="image"):
    return Upload.objects.create(
        owner=user,
        kind=kind,
        file=f"uploads/{kind}.jpg",
        content_type="image/jpeg" if kind == "image" else "application/pdf",
        size=1024,
        width=640 if kind == "image" else None,
        height=480 if kind == "image" else None,
        sha256="0" * 64,
    )


@pytest.fixture
def member(community):
    return registered_member(community)


def steps_of(demand_id):
    return list(DemandStep.objects.filter(demand_id=demand_id).values_list("action", "from_status", "to_status"))


def test_the_whole_flow_with_steps_events_and_points(
    community, resident, member, as_user, captured_events, django_capture_on_commit_callbacks
):
    photo = upload_for(resident)
    filed = as_user(resident).post(
        DEMANDS,
        {
            "kind": "wish",
            "community": community.id,
            "title": "想要一台收音机",
            "contact_name": "王奶奶",
            "contact_phone": "13512345678",
            "photos": [photo.id],
        },
    )
    assert filed.status_code == 201, filed.json()
    body = filed.json()
    demand_id = body["id"]
    assert body["status"] == "open"
    assert body["contact_phone"] == "13512345678"  # the one who asked sees their own number
    assert [p["id"] for p in body["photo_files"]] == [photo.id]

    # The member sees it among their community's open demands, masked.
    listed = as_user(member.user).get(DEMANDS).json()
    assert [d["id"] for d in listed["results"]] == [demand_id]
    assert listed["results"][0]["contact_phone"] == "135****5678"

    with django_capture_on_commit_callbacks(execute=True):
        claimed = as_user(member.user).post(f"{DEMANDS}{demand_id}/claim/")
    assert claimed.status_code == 200, claimed.json()
    assert claimed.json()["status"] == "claimed"
    assert claimed.json()["claimed_by"]["id"] == member.user_id
    assert claimed.json()["contact_phone"] == "13512345678"  # the helper must be able to call

    evidence = upload_for(member.user)
    with django_capture_on_commit_callbacks(execute=True):
        done = as_user(member.user).post(f"{DEMANDS}{demand_id}/done/", {"note": "已送到", "evidence": [evidence.id]})
    assert done.status_code == 200, done.json()
    assert done.json()["status"] == "done"
    assert done.json()["steps"][-1]["evidence"][0]["id"] == evidence.id

    with django_capture_on_commit_callbacks(execute=True):
        confirmed = as_user(resident).post(f"{DEMANDS}{demand_id}/confirm/", {"note": "谢谢"})
    assert confirmed.status_code == 200
    assert confirmed.json()["status"] == "confirmed"

    assert steps_of(demand_id) == [
        ("created", "", "open"),
        ("claimed", "open", "claimed"),
        ("done", "claimed", "done"),
        ("confirmed", "done", "confirmed"),
    ]
    stamped = DemandStep.objects.filter(demand_id=demand_id).order_by("id")
    assert [s.actor_id for s in stamped] == [resident.id, member.user_id, member.user_id, resident.id]
    assert all(s.at is not None for s in stamped)
    # Each step told the others involved, never the one who took it.
    assert [(e, a.ids) for e, _d, a in captured_events] == [
        ("demand.claimed", (resident.id,)),
        ("demand.done", (resident.id,)),
        ("demand.confirmed", (member.user_id,)),
    ]
    entry = PointsEntry.objects.get()
    assert (entry.user_id, entry.rule_code, entry.source, entry.points) == (
        member.user_id,
        "demand_completed",
        f"demand:{demand_id}",
        3,
    )


def test_each_invalid_step_is_409_and_changes_nothing(community, resident, member, as_user):
    secretary = as_user(factories.staff_of(community))
    requester = as_user(resident)
    helper = as_user(member.user)
    demand = DemandFactory(community=community, requester=resident)
    url = f"{DEMANDS}{demand.id}"

    def refused(client, step, data=None):
        before = (Demand.objects.get(pk=demand.pk).status, DemandStep.objects.count())
        response = client.post(f"{url}/{step}/", data or {})
        assert response.status_code == 409, (step, response.json())
        assert response.json()["code"] == "invalid_transition"
        assert (Demand.objects.get(pk=demand.pk).status, DemandStep.objects.count()) == before

    # open: cannot be done or confirmed yet
    refused(helper, "done", {"note": "x"})
    refused(requester, "confirm")
    assert helper.post(f"{url}/claim/").status_code == 200
    # claimed: cannot be claimed again (other members no longer even see it) or confirmed
    refused(helper, "claim")
    assert as_user(registered_member(community).user).post(f"{url}/claim/").status_code == 404
    refused(requester, "confirm")
    assert helper.post(f"{url}/done/", {"note": "完成"}).status_code == 200
    # done: cannot be claimed, assigned, done again or cancelled
    refused(helper, "claim")
    refused(secretary, "assign", {"member": member.id})
    refused(helper, "done", {"note": "again"})
    refused(requester, "cancel")
    assert requester.post(f"{url}/confirm/").status_code == 200
    # confirmed: nothing more
    for step in ("claim", "done", "confirm", "cancel"):
        refused(requester if step != "done" else helper, step, {"note": "x"})

    cancelled = DemandFactory(community=community, requester=resident)
    assert requester.post(f"{DEMANDS}{cancelled.id}/cancel/", {"note": "不需要了"}).status_code == 200
    url = f"{DEMANDS}{cancelled.id}"
    demand = cancelled
    for client, step in ((secretary, "claim"), (secretary, "done"), (requester, "confirm"), (requester, "cancel")):
        refused(client, step, {"note": "x"})
    refused(secretary, "assign", {"member": member.id})


def test_staff_assign_and_reassign(community, resident, as_user, captured_events, django_capture_on_commit_callbacks):
    first, second = registered_member(community), registered_member(community)
    secretary = factories.staff_of(community)
    demand = DemandFactory(community=community, requester=resident)
    with django_capture_on_commit_callbacks(execute=True):
        assigned = as_user(secretary).post(f"{DEMANDS}{demand.id}/assign/", {"member": first.id, "note": "请协助"})
    assert assigned.status_code == 200, assigned.json()
    assert assigned.json()["claimed_by"]["id"] == first.user_id
    with django_capture_on_commit_callbacks(execute=True):
        reassigned = as_user(secretary).post(f"{DEMANDS}{demand.id}/assign/", {"member": second.id})
    assert reassigned.json()["claimed_by"]["id"] == second.user_id
    assert [(e, set(a.ids)) for e, _d, a in captured_events] == [
        ("demand.assigned", {resident.id, first.user_id}),
        ("demand.assigned", {resident.id, first.user_id, second.user_id}),
    ]
    step = DemandStep.objects.filter(action="assigned").first()
    assert (step.actor, step.assignee, step.note) == (secretary, first.user, "请协助")


def test_assign_needs_a_member_registered_there_and_staff_in_scope(community, other_community, resident, as_user):
    demand = DemandFactory(community=community, requester=resident)
    elsewhere = registered_member(other_community)
    here = registered_member(community)
    secretary = as_user(factories.staff_of(community))
    wrong = secretary.post(f"{DEMANDS}{demand.id}/assign/", {"member": elsewhere.id})
    assert wrong.status_code == 400
    assert "member" in wrong.json()["fields"]
    missing = secretary.post(f"{DEMANDS}{demand.id}/assign/", {"member": 999999})
    assert missing.status_code == 400
    outsider = as_user(factories.staff_of(other_community)).post(f"{DEMANDS}{demand.id}/assign/", {"member": here.id})
    assert outsider.status_code == 404
    member_try = as_user(here.user).post(f"{DEMANDS}{demand.id}/assign/", {"member": here.id})
    assert member_try.status_code == 403
    assert Demand.objects.get().status == "open"
    assert DemandStep.objects.count() == 1


def test_who_may_claim(community, other_community, resident, as_user):
    demand = DemandFactory(community=community, requester=resident)
    outsider = registered_member(other_community)
    # Not visible to a member of another community: 404, as if it did not exist.
    assert as_user(outsider.user).post(f"{DEMANDS}{demand.id}/claim/").status_code == 404
    # The one who asked cannot take their own demand.
    own = as_user(resident).post(f"{DEMANDS}{demand.id}/claim/")
    assert own.status_code == 403
    # A unit registered with the community claims through its liaison.
    unit = registered_unit(community)
    claimed = as_user(unit.filed_by).post(f"{DEMANDS}{demand.id}/claim/", {"organization": unit.organization_id})
    assert claimed.status_code == 200, claimed.json()
    assert claimed.json()["claimed_organization"] == unit.organization_id
    assert Demand.objects.get().claimed_by == unit.filed_by


def test_a_liaison_cannot_claim_for_an_unregistered_unit(community, resident, as_user):
    demand = DemandFactory(community=community, requester=resident)
    unit = registered_unit(factories.CommunityFactory())
    registered_member(community, user=unit.filed_by)
    response = as_user(unit.filed_by).post(f"{DEMANDS}{demand.id}/claim/", {"organization": unit.organization_id})
    assert response.status_code == 403
    assert Demand.objects.get().status == "open"


def test_done_needs_evidence_and_the_right_person(community, resident, member, as_user):
    demand = DemandFactory(community=community, requester=resident)
    services.claim_demand(demand=demand, by=member.user)
    empty = as_user(member.user).post(f"{DEMANDS}{demand.id}/done/", {"note": " "})
    assert empty.status_code == 400
    assert "note" in empty.json()["fields"]
    someone_elses = upload_for(resident)
    foreign = as_user(member.user).post(f"{DEMANDS}{demand.id}/done/", {"evidence": [someone_elses.id]})
    assert foreign.status_code == 400
    assert "evidence" in foreign.json()["fields"]
    by_requester = as_user(resident).post(f"{DEMANDS}{demand.id}/done/", {"note": "我自己说完成了"})
    assert by_requester.status_code == 403
    assert Demand.objects.get().status == "claimed"
    only_photo = as_user(member.user).post(f"{DEMANDS}{demand.id}/done/", {"evidence": [upload_for(member.user).id]})
    assert only_photo.status_code == 200


def test_staff_confirm_only_after_the_waiting_period_and_the_scheduler_confirms(
    community, resident, member, as_user, settings
):
    settings.DEMAND_AUTO_CONFIRM_DAYS = 3
    secretary = as_user(factories.staff_of(community))
    demand = DemandFactory(community=community, requester=resident)
    services.claim_demand(demand=demand, by=member.user)
    services.complete_demand(demand=demand, by=member.user, note="完成")
    early = secretary.post(f"{DEMANDS}{demand.id}/confirm/")
    assert early.status_code == 409
    assert early.json()["code"] == "invalid_transition"
    stranger = as_user(registered_member(community).user).post(f"{DEMANDS}{demand.id}/confirm/")
    assert stranger.status_code in (403, 404)

    Demand.objects.filter(pk=demand.pk).update(done_at=timezone.now() - timedelta(days=4))
    assert secretary.post(f"{DEMANDS}{demand.id}/confirm/").status_code == 200

    late = DemandFactory(community=community, requester=resident)
    services.claim_demand(demand=late, by=member.user)
    services.complete_demand(demand=late, by=member.user, note="完成")
    fresh = DemandFactory(community=community, requester=resident)
    services.claim_demand(demand=fresh, by=member.user)
    services.complete_demand(demand=fresh, by=member.user, note="完成")
    Demand.objects.filter(pk=late.pk).update(done_at=timezone.now() - timedelta(days=5))

    # The registered job enqueues the task; tests run tasks immediately.
    job = dict(scheduler.periodic_jobs.items())["members.auto_confirm_demands"]()
    job.enqueue()
    assert Demand.objects.get(pk=late.pk).status == "confirmed"
    assert Demand.objects.get(pk=fresh.pk).status == "done"
    system_step = DemandStep.objects.get(demand=late, action="confirmed")
    assert system_step.actor is None
    assert services.auto_confirm_due_demands() == 0  # a second run finds nothing to do
    assert PointsEntry.objects.filter(user=member.user).count() == 2


def test_cancel_by_requester_or_staff_only(community, resident, member, as_user):
    demand = DemandFactory(community=community, requester=resident)
    services.claim_demand(demand=demand, by=member.user)
    by_helper = as_user(member.user).post(f"{DEMANDS}{demand.id}/cancel/")
    assert by_helper.status_code == 403
    by_staff = as_user(factories.staff_of(community)).post(f"{DEMANDS}{demand.id}/cancel/", {"note": "重复提交"})
    assert by_staff.status_code == 200
    assert by_staff.json()["status"] == "cancelled"
    assert DemandStep.objects.filter(demand=demand, action="cancelled").get().note == "重复提交"


def test_an_outsider_confirming_hears_403_whatever_the_demand_state(community, resident, member):
    # Who may confirm comes before what state the demand is in: the helper is neither its requester
    # nor staff, so an open demand answers permission_denied, not invalid_transition.
    demand = DemandFactory(community=community, requester=resident)
    with pytest.raises(DomainError) as caught:
        services.confirm_demand(demand=demand, by=member.user)
    assert caught.value.code == "permission_denied"
    assert Demand.objects.get(pk=demand.pk).status == "open"


def test_an_outsider_cancelling_hears_403_whatever_the_demand_state(community, resident, member):
    demand = DemandFactory(community=community, requester=resident)
    services.claim_demand(demand=demand, by=member.user)
    services.complete_demand(demand=demand, by=member.user, note="完成")
    with pytest.raises(DomainError) as caught:
        services.cancel_demand(demand=demand, by=member.user)
    assert caught.value.code == "permission_denied"
    assert Demand.objects.get(pk=demand.pk).status == "done"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"kind": "gift"}, "kind"),
        ({"title": ""}, "title"),
        ({"community": 999999}, "community"),
        ({"contact_phone": "123"}, "contact_phone"),
        ({"photos": [999999]}, "photos"),
    ],
)
def test_filing_bad_input_is_400_and_nothing_is_written(community, resident, as_user, change, field):
    body = {"kind": "service", "community": community.id, "title": "楼道灯坏了", **change}
    response = as_user(resident).post(DEMANDS, body)
    assert response.status_code == 400
    assert field in response.json()["fields"]
    assert not Demand.objects.exists()


def test_filing_checks_grid_and_estate_belong_to_the_community(community, other_community, resident, as_user):
    grid = factories.GridFactory(community=other_community)
    estate = factories.EstateFactory(community=other_community)
    for field, value in (("grid", grid.id), ("estate", estate.id)):
        response = as_user(resident).post(
            DEMANDS, {"kind": "problem", "community": community.id, "title": "漏水", field: value}
        )
        assert response.status_code == 400
        assert field in response.json()["fields"]
    assert not Demand.objects.exists()


def test_visibility(community, other_community, resident, member, as_user):
    open_here = DemandFactory(community=community, requester=resident)
    taken_elsewhere = DemandFactory(community=community)
    services.claim_demand(demand=taken_elsewhere, by=registered_member(community).user)
    other = DemandFactory(community=other_community)
    grid = factories.GridFactory(community=community)
    in_grid = DemandFactory(community=community, grid=grid)
    worker = factories.UserFactory()
    factories.grant(worker, "grid_worker", grid)

    def ids(user):
        return {d["id"] for d in as_user(user).get(DEMANDS).json()["results"]}

    assert ids(resident) == {open_here.id}
    assert ids(member.user) == {open_here.id, in_grid.id}  # open ones of their community
    assert ids(factories.staff_of(community)) == {open_here.id, taken_elsewhere.id, in_grid.id}
    assert ids(factories.staff_of(other_community)) == {other.id}
    assert ids(worker) == {in_grid.id}
    assert ids(factories.UserFactory()) == set()
    assert as_user(factories.UserFactory()).get(f"{DEMANDS}{open_here.id}/").status_code == 404
    mine = as_user(resident).get(DEMANDS, {"mine": "true"}).json()
    assert [d["id"] for d in mine["results"]] == [open_here.id]


def test_demand_list_queries_do_not_grow(community, as_user, django_assert_max_num_queries):
    secretary = as_user(factories.staff_of(community))
    DemandFactory.create_batch(2, community=community)
    with django_assert_max_num_queries(10) as few:
        assert secretary.get(DEMANDS).status_code == 200
    for demand in DemandFactory.create_batch(15, community=community):
        demand.photos.add(upload_for(demand.requester))
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert secretary.get(DEMANDS).json()["count"] == 17


def test_service_refuses_a_claim_after_a_concurrent_claim(community, resident):
    demand = DemandFactory(community=community, requester=resident)
    first, second = registered_member(community), registered_member(community)
    stale = Demand.objects.get(pk=demand.pk)
    services.claim_demand(demand=demand, by=first.user)
    with pytest.raises(DomainError) as caught:
        services.claim_demand(demand=stale, by=second.user)  # re-read under lock: already claimed
    assert caught.value.code == "invalid_transition"
    assert Demand.objects.get().claimed_by == first.user


# A phone's retry ------------------------------------------------------------------------------


def test_a_retried_demand_with_the_same_client_id_answers_200_with_the_first(community, resident, as_user):
    body = {"kind": "wish", "community": community.id, "title": "想要一台收音机", "client_id": str(uuid.uuid4())}
    first = as_user(resident).post(DEMANDS, body)
    assert first.status_code == 201, first.json()
    assert first.json()["client_id"] == body["client_id"]
    counts = (Demand.objects.count(), DemandStep.objects.count())

    again = as_user(resident).post(DEMANDS, {**body, "title": "重复提交"})

    assert again.status_code == 200, again.json()
    assert again.json()["id"] == first.json()["id"]
    assert again.json()["title"] == "想要一台收音机"
    assert (Demand.objects.count(), DemandStep.objects.count()) == counts


def test_the_same_client_id_from_another_requester_is_another_demand(community, resident, as_user):
    client_id = str(uuid.uuid4())
    body = {"kind": "wish", "community": community.id, "title": "想要一台收音机", "client_id": client_id}
    first = as_user(resident).post(DEMANDS, body)
    other = as_user(factories.UserFactory()).post(DEMANDS, body)
    assert (first.status_code, other.status_code) == (201, 201)
    assert first.json()["id"] != other.json()["id"]


def test_a_malformed_client_id_is_a_field_error_and_writes_nothing(community, resident, as_user):
    answer = as_user(resident).post(
        DEMANDS, {"kind": "wish", "community": community.id, "title": "想要", "client_id": "not-a-uuid"}
    )
    assert answer.status_code == 400
    assert answer.json()["code"] == "validation_error"
    assert "client_id" in answer.json()["fields"]
    assert not Demand.objects.exists()


def test_submit_demand_answers_a_retry_from_the_first_row(community, resident):
    client_id = uuid.uuid4()
    first, created = services.submit_demand(
        by=resident, client_id=client_id, kind="wish", community=community, title="需要轮椅"
    )
    again, created_again = services.submit_demand(
        by=resident, client_id=client_id, kind="service", community=community, title="另一条"
    )
    assert (created, created_again) == (True, False)
    assert again.pk == first.pk and again.kind == "wish"
    assert Demand.objects.count() == 1


def test_without_a_client_id_each_filing_is_new(community, resident):
    services.submit_demand(by=resident, client_id=None, kind="wish", community=community, title="一")
    services.submit_demand(by=resident, client_id=None, kind="wish", community=community, title="二")
    assert Demand.objects.count() == 2


def test_a_retry_that_loses_the_race_to_the_constraint_answers_with_the_winner(community, resident, monkeypatch):
    # A concurrent retry commits its demand after this call looked for one and before it inserts:
    # the insert meets the constraint, and the call answers with the winner's demand.
    client_id = uuid.uuid4()
    real_replay = idempotency.replay
    winner = []

    def too_early(queryset, **kwargs):
        if not winner:
            winner.append(DemandFactory(community=community, requester=resident, client_id=client_id))
            return None
        return real_replay(queryset, **kwargs)

    monkeypatch.setattr(idempotency, "replay", too_early)
    demand, created = services.submit_demand(
        by=resident, client_id=client_id, kind="service", community=community, title="第二次"
    )
    assert created is False
    assert demand.pk == winner[0].pk
    assert Demand.objects.count() == 1
    assert DemandStep.objects.filter(demand=demand).count() == 1


def test_a_cancel_by_someone_else_is_refused_before_its_body_is_read(community, resident, member, as_user):
    # Authorization before validation: the helper hears 403, never that the note is no string.
    demand = DemandFactory(community=community, requester=resident)
    services.claim_demand(demand=demand, by=member.user)
    refused = as_user(member.user).post(f"{DEMANDS}{demand.id}/cancel/", {"note": ["x"]}, format="json")
    assert refused.status_code == 403, refused.content
    assert Demand.objects.get(pk=demand.pk).status == "claimed"


def test_a_confirm_by_someone_else_is_refused_before_its_body_is_read(community, resident, member, as_user):
    # The helper who did the work cannot confirm it for the requester, whatever the note holds.
    demand = DemandFactory(community=community, requester=resident)
    services.claim_demand(demand=demand, by=member.user)
    services.complete_demand(demand=demand, by=member.user, note="已办好")
    for body in ({"note": ["x"]}, {"note": "好"}):
        refused = as_user(member.user).post(f"{DEMANDS}{demand.id}/confirm/", body, format="json")
        assert refused.status_code == 403, refused.content
    assert Demand.objects.get(pk=demand.pk).status == "done"


def test_staff_never_assign_a_demand_to_themselves(community, resident, as_user):
    # A secretary who is a member registered here would earn the points of her own assignment.
    secretary = factories.staff_of(community)
    own = registered_member(community, user=secretary)
    demand = DemandFactory(community=community, requester=resident)
    refused = as_user(secretary).post(f"{DEMANDS}{demand.id}/assign/", {"member": own.id})
    assert refused.status_code == 403, refused.json()
    assert Demand.objects.get().status == "open" and DemandStep.objects.count() == 1
    colleague = as_user(factories.staff_of(community))
    assert colleague.post(f"{DEMANDS}{demand.id}/assign/", {"member": own.id}).status_code == 200
