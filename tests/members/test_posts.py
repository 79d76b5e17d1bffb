"""服务岗位: staff define posts; registered members claim and leave them; who is below the minimum."""

import pytest

from backend.accounts.models import PersonalDataAccess
from backend.members.models import PostAssignment, ServicePost
from tests import factories
from tests.members.factories import PostFactory, registered_member

pytestmark = pytest.mark.django_db

POSTS = "/api/v1/members/posts/"


def test_staff_define_and_edit_posts(community, other_community, as_user):
    secretary = as_user(factories.staff_of(community))
    created = secretary.post(POSTS, {"community": community.id, "name": "楼栋长", "capacity": 3, "description": "3栋"})
    assert created.status_code == 201, created.json()
    assert created.json()["taken"] == 0
    post_id = created.json()["id"]
    duplicate = secretary.post(POSTS, {"community": community.id, "name": "楼栋长"})
    assert duplicate.status_code == 400
    assert "name" in duplicate.json()["fields"]
    elsewhere = secretary.post(POSTS, {"community": other_community.id, "name": "文明劝导"})
    assert elsewhere.status_code == 400
    assert "community" in elsewhere.json()["fields"]
    zero = secretary.post(POSTS, {"community": community.id, "name": "政策宣讲", "capacity": 0})
    assert zero.status_code == 400
    assert ServicePost.objects.count() == 1

    patched = secretary.patch(f"{POSTS}{post_id}/", {"capacity": 5})
    assert patched.status_code == 200
    assert patched.json()["capacity"] == 5
    outsider = as_user(factories.staff_of(other_community)).patch(f"{POSTS}{post_id}/", {"capacity": 1})
    assert outsider.status_code == 404
    assert ServicePost.objects.get().capacity == 5


def test_residents_cannot_create_posts(community, resident, as_user):
    response = as_user(resident).post(POSTS, {"community": community.id, "name": "楼栋长"})
    assert response.status_code == 403
    assert not ServicePost.objects.exists()


def test_members_claim_and_leave_posts_within_capacity(community, as_user):
    post = PostFactory(community=community, capacity=1)
    first, second = registered_member(community), registered_member(community)

    claimed = as_user(first.user).post(f"{POSTS}{post.id}/claim/")
    assert claimed.status_code == 201
    retry = as_user(first.user).post(f"{POSTS}{post.id}/claim/")
    assert retry.status_code == 200
    assert retry.json()["id"] == claimed.json()["id"]

    full = as_user(second.user).post(f"{POSTS}{post.id}/claim/")
    assert full.status_code == 409
    assert full.json()["code"] == "post_full"
    listed = as_user(second.user).get(POSTS).json()["results"][0]
    assert (listed["taken"], listed["held_by_me"]) == (1, False)
    assert as_user(first.user).get(POSTS).json()["results"][0]["held_by_me"] is True

    assert as_user(first.user).post(f"{POSTS}{post.id}/leave/").status_code == 204
    assert as_user(first.user).post(f"{POSTS}{post.id}/leave/").status_code == 204  # retry: nothing changes
    assert as_user(second.user).post(f"{POSTS}{post.id}/claim/").status_code == 201
    assert PostAssignment.objects.count() == 2
    assert PostAssignment.objects.filter(left_at__isnull=True).get().member == second


def test_only_registered_members_of_that_community_claim(community, other_community, resident, as_user):
    post = PostFactory(community=community)
    elsewhere = registered_member(other_community)
    for user in (resident, elsewhere.user):
        response = as_user(user).post(f"{POSTS}{post.id}/claim/")
        assert response.status_code == 403
        assert response.json()["code"] == "permission_denied"
    assert not PostAssignment.objects.exists()


def test_an_inactive_post_cannot_be_claimed_and_is_hidden(community, as_user):
    post = PostFactory(community=community, is_active=False)
    member = registered_member(community)
    assert as_user(member.user).post(f"{POSTS}{post.id}/claim/").status_code == 404
    staff_view = as_user(factories.staff_of(community)).get(POSTS).json()
    assert [p["id"] for p in staff_view["results"]] == [post.id]


def test_members_below_the_minimum(community, as_user, settings):
    settings.MEMBER_MIN_POSTS = 2
    posts = PostFactory.create_batch(2, community=community, capacity=5)
    busy, idle, half = (registered_member(community) for _ in range(3))
    for post in posts:
        PostAssignment.objects.create(post=post, member=busy)
    PostAssignment.objects.create(post=posts[0], member=half)
    secretary = as_user(factories.staff_of(community))
    below = secretary.get("/api/v1/members/", {"below_min_posts": "true"}).json()
    assert {r["id"] for r in below["results"]} == {idle.id, half.id}
    assert {r["id"]: r["post_count"] for r in below["results"]} == {idle.id: 0, half.id: 1}
    enough = secretary.get("/api/v1/members/", {"below_min_posts": "false"}).json()
    assert [r["id"] for r in enough["results"]] == [busy.id]
    assert as_user(busy.user).get("/api/v1/members/me/").json()["min_posts"] == 2


def test_holders_for_staff_only_masked_and_audited(community, other_community, as_user):
    post = PostFactory(community=community)
    member = registered_member(community, phone="13911112222")
    PostAssignment.objects.create(post=post, member=member)
    secretary = factories.staff_of(community)
    holders = as_user(secretary).get(f"{POSTS}{post.id}/holders/")
    assert holders.status_code == 200
    assert holders.json()[0]["phone"] == "139****2222"
    assert PersonalDataAccess.objects.filter(actor=secretary, subject=member.user).exists()
    assert as_user(member.user).get(f"{POSTS}{post.id}/holders/").status_code == 403
    assert as_user(factories.staff_of(other_community)).get(f"{POSTS}{post.id}/holders/").status_code == 403


def test_posts_list_queries_do_not_grow(community, as_user, django_assert_max_num_queries):
    member = registered_member(community)
    client = as_user(member.user)
    PostFactory.create_batch(2, community=community)
    with django_assert_max_num_queries(8) as few:
        assert client.get(POSTS).status_code == 200
    for post in PostFactory.create_batch(15, community=community):
        PostAssignment.objects.create(post=post, member=member)
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert client.get(POSTS).json()["count"] == 17
