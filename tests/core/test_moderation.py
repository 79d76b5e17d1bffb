"""Content checks (backend/core/moderation.py) against the fake WeChat server: verdicts, who decides
what WeChat cannot, retries while WeChat is down, and the author told of a rejection.

The subject is a demand filed through the members services; the apps' own tests cover their lists.
"""

from __future__ import annotations

import time
from datetime import timedelta
from urllib.parse import quote

import pytest
from django.utils import timezone

from backend.core import media as media_links
from backend.core import moderation, scheduler
from backend.core.errors import DomainError
from backend.core.models import ContentCheck
from backend.members import services
from backend.notices.models import Notice, NoticeReceipt
from devtools.fake_wechat import REVIEW_MARKER, RISKY_MARKER
from tests import factories
from tests.core.moderation_helpers import checks_of, image, run_retries, take_wechat_down, with_openid

pytestmark = pytest.mark.django_db

Status = ContentCheck.Status


@pytest.fixture
def author(resident):
    return with_openid(resident, "alice")


def file(user, community, *, title="想要一台收音机", description="", photos=()):
    return services.file_demand(
        by=user, kind="wish", community=community, title=title, description=description, photos=photos
    )


def filed(capture, user, community, **kwargs):
    with capture(execute=True):
        demand = file(user, community, **kwargs)
    return demand


def notices_to(user) -> list[Notice]:
    return [r.notice for r in NoticeReceipt.objects.filter(user=user).select_related("notice")]


def test_text_that_passes_is_settled_with_wechats_answer(
    content_checks, author, community, django_capture_on_commit_callbacks
):
    demand = filed(django_capture_on_commit_callbacks, author, community, description="楼道灯坏了")
    (check,) = checks_of(demand)
    assert (check.kind, check.field, check.status, check.suggest, check.label) == (
        "text",
        "text",
        "passed",
        "pass",
        100,
    )
    assert check.trace_id and check.checked_at and check.attempts == 1
    assert check.source_fields == ["title", "description"] and check.community_id == community.pk
    (call,) = content_checks.calls_to("/wxa/msg_sec_check")
    assert call.body == {
        "version": 2,
        "openid": author.wechat_openid,
        "scene": moderation.SCENE_FORUM,
        "content": "想要一台收音机\n楼道灯坏了",
    }
    assert not moderation.is_held(demand)


def test_nothing_goes_to_wechat_before_the_write_commits(
    content_checks, author, community, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        demand = file(author, community)
    assert checks_of(demand)[0].status == Status.PENDING
    assert content_checks.calls_to("/wxa/msg_sec_check") == []
    assert len(callbacks) == 1


def test_risky_text_is_rejected_and_the_author_told(
    content_checks, author, community, django_capture_on_commit_callbacks
):
    demand = filed(django_capture_on_commit_callbacks, author, community, description=f"出售{RISKY_MARKER}")
    (check,) = checks_of(demand)
    assert (check.status, check.suggest, check.reason) == (Status.REJECTED, "risky", "wechat")
    assert moderation.is_held(demand)
    (notice,) = notices_to(author)
    assert notice.kind == Notice.Kind.SYSTEM and notice.sender is None
    assert "需求清单" in notice.body and "想要一台收音机" in notice.body


def test_review_waits_for_staff_in_scope_and_never_the_author(
    content_checks, author, community, other_community, django_capture_on_commit_callbacks
):
    demand = filed(django_capture_on_commit_callbacks, author, community, description=REVIEW_MARKER)
    (check,) = checks_of(demand)
    assert (check.status, check.suggest) == (Status.REVIEW, "review")
    with pytest.raises(DomainError) as outside:
        moderation.decide(check=check, by=factories.staff_of(other_community), approve=True)
    assert outside.value.code == "not_found"
    staff_author = factories.staff_of(community)
    check.author = staff_author
    check.save(update_fields=["author"])
    with pytest.raises(DomainError) as own:
        moderation.decide(check=check, by=staff_author, approve=True)
    assert own.value.code == "permission_denied"
    assert ContentCheck.objects.get(pk=check.pk).status == Status.REVIEW

    secretary = factories.staff_of(community)
    with django_capture_on_commit_callbacks(execute=True):
        decided = moderation.decide(check=check, by=secretary, approve=True, note="  内容属实 ")
    assert (decided.status, decided.decided_by, decided.decision_note, decided.reason) == (
        Status.PASSED,
        secretary,
        "内容属实",
        "staff",
    )
    assert not moderation.is_held(demand)
    with pytest.raises(DomainError) as again:
        moderation.decide(check=decided, by=secretary, approve=False)
    assert again.value.code == "invalid_transition"


def test_a_staff_rejection_tells_the_author_with_the_note(
    content_checks, author, community, django_capture_on_commit_callbacks
):
    demand = filed(django_capture_on_commit_callbacks, author, community, description=REVIEW_MARKER)
    (check,) = checks_of(demand)
    with django_capture_on_commit_callbacks(execute=True):
        moderation.decide(check=check, by=factories.staff_of(community), approve=False, note="含联系方式广告")
    assert moderation.is_held(demand)
    (notice,) = notices_to(author)
    assert "含联系方式广告" in notice.body


def test_a_street_admin_decides_for_the_communities_of_the_street(
    content_checks, author, community, street, django_capture_on_commit_callbacks
):
    demand = filed(django_capture_on_commit_callbacks, author, community, description=REVIEW_MARKER)
    (check,) = checks_of(demand)
    moderation.decide(check=check, by=factories.admin_of(street), approve=True)
    assert not moderation.is_held(demand)


@pytest.mark.parametrize(
    ("openid", "reason"),
    [(None, "no_openid"), ("err-61010", "openid_unusable"), ("err-40003", "openid_unusable")],
)
def test_content_wechat_cannot_check_goes_to_staff(
    content_checks, resident, community, openid, reason, django_capture_on_commit_callbacks
):
    resident.wechat_openid = openid
    resident.save(update_fields=["wechat_openid"])
    demand = filed(django_capture_on_commit_callbacks, resident, community)
    (check,) = checks_of(demand)
    assert (check.status, check.reason) == (Status.REVIEW, reason)
    assert moderation.is_held(demand)
    # Asked once at most: sending again would not help.
    assert len(content_checks.calls_to("/wxa/msg_sec_check")) == (0 if openid is None else 1)


def test_wechat_down_keeps_it_held_and_the_retry_job_checks_it_later(
    content_checks, settings, author, community, django_capture_on_commit_callbacks
):
    working = take_wechat_down(settings)
    demand = filed(django_capture_on_commit_callbacks, author, community)
    (check,) = checks_of(demand)
    assert (check.status, check.attempts) == (Status.PENDING, 1)
    assert check.next_attempt_at > timezone.now()
    assert moderation.is_held(demand)
    # Not due yet: the sweep leaves it alone.
    assert moderation.run_due_checks() == 0

    settings.WECHAT_API_BASE = working
    with django_capture_on_commit_callbacks(execute=True):
        assert run_retries(after=timedelta(minutes=5)) == 1
    check.refresh_from_db()
    assert (check.status, check.attempts) == (Status.PASSED, 2)
    assert not moderation.is_held(demand)


def test_the_retry_job_is_scheduled(content_checks):
    assert "retry_content_checks" in dict(scheduler.periodic_jobs.items())


def test_a_sweep_stops_at_the_first_failure_while_wechat_is_down(
    content_checks, settings, author, community, django_capture_on_commit_callbacks
):
    take_wechat_down(settings)
    for n in range(3):
        filed(django_capture_on_commit_callbacks, author, community, title=f"需求{n}")
    assert run_retries(after=timedelta(minutes=5)) == 1
    assert sorted(ContentCheck.objects.values_list("attempts", flat=True)) == [1, 1, 2]


def test_after_the_last_attempt_staff_decide(
    content_checks, settings, author, community, django_capture_on_commit_callbacks
):
    take_wechat_down(settings)
    demand = filed(django_capture_on_commit_callbacks, author, community)
    for day in range(1, moderation.MAX_ATTEMPTS + 1):
        run_retries(after=timedelta(days=day))
    (check,) = checks_of(demand)
    assert (check.status, check.reason, check.attempts) == (
        Status.REVIEW,
        "wechat_unavailable",
        moderation.MAX_ATTEMPTS,
    )


def test_running_a_check_twice_asks_wechat_once(content_checks, author, community, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False):
        demand = file(author, community)
    (check,) = checks_of(demand)
    moderation.run_check(check.pk)
    assert moderation.run_check(check.pk) is None
    assert len(content_checks.calls_to("/wxa/msg_sec_check")) == 1


def test_long_text_goes_in_pieces_and_the_worst_verdict_wins(
    content_checks, author, community, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False):
        demand = file(author, community)
    demand.description = "好" * 2600 + RISKY_MARKER
    demand.save(update_fields=["description"])
    moderation.submit(demand, author=author, community_id=community.pk, texts={"text": ("title", "description")})
    (check,) = checks_of(demand)
    moderation.run_check(check.pk)
    check.refresh_from_db()
    assert check.status == Status.REJECTED
    pieces = [call.body["content"] for call in content_checks.calls_to("/wxa/msg_sec_check")]
    assert [len(piece) for piece in pieces] == [2500, len(demand.title) + 1 + 2603 - 2500]


def test_unchanged_text_keeps_its_verdict_and_changed_text_is_checked_again(
    content_checks, author, community, django_capture_on_commit_callbacks
):
    demand = filed(django_capture_on_commit_callbacks, author, community, description=REVIEW_MARKER)
    (check,) = checks_of(demand)
    moderation.decide(check=check, by=factories.staff_of(community), approve=True)
    with django_capture_on_commit_callbacks(execute=True):
        moderation.submit(demand, author=author, community_id=community.pk, texts={"text": ("title", "description")})
    assert checks_of(demand)[0].status == Status.PASSED
    demand.description = "改过的内容"
    demand.save(update_fields=["description"])
    with django_capture_on_commit_callbacks(execute=False):
        moderation.submit(demand, author=author, community_id=community.pk, texts={"text": ("title", "description")})
    (again,) = checks_of(demand)
    assert again.pk == check.pk and (again.status, again.decided_by, again.attempts) == (Status.PENDING, None, 0)


@pytest.mark.django_db(transaction=True)
def test_text_changed_while_its_check_was_under_way_is_not_settled_by_the_old_answer(
    content_checks, settings, author, community
):
    working = take_wechat_down(settings)
    demand = file(author, community)  # committed at once: its first attempt fails
    settings.WECHAT_API_BASE = working
    (check,) = checks_of(demand)

    def edit_meanwhile(received):
        # Another request edits the demand while WeChat is still judging the old text.
        if received.path == "/wxa/msg_sec_check":
            content_checks.on_request = None
            demand.description = RISKY_MARKER
            demand.save(update_fields=["description"])
            moderation.submit(
                demand, author=author, community_id=community.pk, texts={"text": ("title", "description")}
            )

    content_checks.on_request = edit_meanwhile
    moderation.run_check(check.pk, now=timezone.now() + timedelta(hours=1))
    check.refresh_from_db()
    # The old text's "pass" was dropped; the new text's own check rejected it.
    assert (check.status, check.suggest) == (Status.REJECTED, "risky")
    assert [c.body["content"] for c in content_checks.calls_to("/wxa/msg_sec_check")] == [
        "想要一台收音机",
        f"想要一台收音机\n{RISKY_MARKER}",
    ]


def test_emptied_text_drops_its_check_and_images_follow_the_record(
    content_checks, author, community, django_capture_on_commit_callbacks
):
    first, second = image(author, "a.jpg"), image(author, "b.jpg")
    with django_capture_on_commit_callbacks(execute=False):
        demand = file(author, community, photos=[first, second])
    assert [c.kind for c in checks_of(demand)] == ["text", "media", "media"]
    demand.title = ""
    moderation.submit(demand, author=author, community_id=community.pk, texts={"text": ("title",)}, images=[second])
    assert [(c.kind, c.upload_id) for c in checks_of(demand)] == [("media", second.pk)]


def test_checks_are_off_unless_switched_on(author, community, fake_wechat, django_capture_on_commit_callbacks):
    demand = filed(django_capture_on_commit_callbacks, author, community)
    assert checks_of(demand) == []
    assert fake_wechat.requests == []


def test_images_go_to_media_check_async_at_their_public_address(
    content_checks, author, community, django_capture_on_commit_callbacks
):
    photo = image(author, "街景 1.jpg")
    demand = filed(django_capture_on_commit_callbacks, author, community, photos=[photo])
    media = next(c for c in checks_of(demand) if c.kind == "media")
    assert media.status == Status.PENDING and media.trace_id and media.sent_at
    assert media.next_attempt_at > timezone.now() + timedelta(minutes=50)
    (call,) = content_checks.calls_to("/wxa/media_check_async")
    # A signed link WeChat can fetch for a day (backend/core/media.py); nothing under /media/ is open.
    path, query = call.body.pop("media_url").split("?")
    assert path == f"https://testserver/media/{quote(photo.file.name)}"
    expires, signature = (part.split("=")[1] for part in query.split("&"))
    assert int(expires) > time.time() + media_links.WECHAT_LINK_SECONDS - 60
    assert media_links.link_is_valid(photo.file.name, expires, signature)
    assert call.body == {
        "media_type": 2,
        "version": 2,
        "openid": author.wechat_openid,
        "scene": moderation.SCENE_FORUM,
    }
    assert moderation.is_held(demand)


def test_without_a_public_media_address_images_go_to_staff(
    content_checks, settings, author, community, django_capture_on_commit_callbacks
):
    settings.MEDIA_PUBLIC_URL = ""
    demand = filed(django_capture_on_commit_callbacks, author, community, photos=[image(author)])
    media = next(c for c in checks_of(demand) if c.kind == "media")
    assert (media.status, media.reason) == (Status.REVIEW, "no_public_url")


def test_an_image_whose_verdict_never_arrives_is_sent_again(
    content_checks, author, community, django_capture_on_commit_callbacks
):
    demand = filed(django_capture_on_commit_callbacks, author, community, photos=[image(author)])
    media = next(c for c in checks_of(demand) if c.kind == "media")
    first_trace = media.trace_id
    assert run_retries(after=timedelta(minutes=30)) == 0
    assert run_retries(after=timedelta(minutes=61)) == 1
    media.refresh_from_db()
    assert media.trace_id != first_trace and media.attempts == 2
    assert len(content_checks.calls_to("/wxa/media_check_async")) == 2
