"""Registration and the volunteer's own profile: documents only after consent, numbers per community."""

from __future__ import annotations

import re
from datetime import datetime

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models.functions import Length
from django.utils import timezone
from django.utils.translation import gettext as _

from backend.accounts.models import User
from backend.communities.models import Community
from backend.core import attempts, crypto, idcard
from backend.core.errors import DomainError, field_error

from .. import selectors
from ..models import IdType, Volunteer
from ._common import _blank

_DOCUMENT_NUMBER = re.compile(r"^[A-Z0-9]{5,30}$", re.ASCII)


def privacy_notice_version() -> str:
    return str(settings.PRIVACY_NOTICE_VERSION)


def _require_consent(*, consent: bool, version: str | None) -> None:
    if consent is not True:
        raise DomainError("consent_required", _("登记证件信息前请先阅读并同意隐私政策"))
    if version and version != privacy_notice_version():
        raise DomainError("consent_required", _("隐私政策已更新, 请阅读并同意最新版本"))


def _validated_document(id_type: str | None, id_number: str, *, attempted_by: int) -> tuple[str, str]:
    """The document's type and number normalised. Every well-formed number tried counts towards
    the daily bound of the account trying it (`attempted_by`), shared with the members'
    registrations; a malformed one is refused for its form (arithmetic anyone can do), uncounted."""
    id_type = id_type or IdType.RESIDENT_ID
    if id_type not in IdType.values:
        raise field_error("id_type", _("未知的证件类型"))
    if id_type == IdType.RESIDENT_ID:
        try:
            number = idcard.validate(id_number)
        except idcard.InvalidIdNumber as exc:
            raise field_error("id_number", exc.reason) from exc
    else:
        number = "".join(str(id_number).split()).upper()
        if not _DOCUMENT_NUMBER.match(number):
            raise field_error("id_number", _("证件号码应为5到30位字母或数字"))
    attempts.count_id_number_attempt(attempted_by)
    return id_type, number


def _set_document(volunteer: Volunteer, *, id_type: str, number: str) -> None:
    taken = Volunteer.objects.filter(id_number_hash=crypto.keyed_hash(f"{id_type}:{number}"))
    if volunteer.pk is not None:
        taken = taken.exclude(pk=volunteer.pk)
    if taken.exists():
        # Answered as any refused number is: whether a number is someone's is not for the caller.
        raise attempts.id_number_refused()
    volunteer.set_id_number(id_type, number)
    volunteer.consent_version = privacy_notice_version()
    volunteer.consent_at = timezone.now()


def _next_volunteer_number(community: Community) -> str:
    """`V00012-000034`: the community registered in and its next sequence number (under its row lock)."""
    prefix = f"V{community.pk:05d}-"
    last = (
        Volunteer.objects.filter(volunteer_number__startswith=prefix)
        .annotate(width=Length("volunteer_number"))
        .order_by("-width", "-volunteer_number")
        .values_list("volunteer_number", flat=True)
        .first()
    )
    sequence = int(last[len(prefix) :]) + 1 if last else 1
    return f"{prefix}{sequence:06d}"


@transaction.atomic
def register_volunteer(
    *,
    by: User,
    community: Community | None = None,
    real_name: str | None = None,
    skills: str = "",
    id_type: str | None = None,
    id_number: str | None = None,
    consent: bool = False,
    consent_version: str | None = None,
    via: str = Volunteer.RegisteredVia.SELF,
) -> tuple[Volunteer, bool]:
    """Register `by` as a volunteer; a second call answers with the profile (created False)."""
    existing = Volunteer.objects.filter(user=by).first()
    if existing is not None:
        return existing, False
    community = community or by.community
    if community is None:
        raise field_error("community", _("请选择所在社区"))
    document = None
    if not _blank(id_number):
        # Nothing about a person's documents is stored before they agree to the notice.
        _require_consent(consent=consent, version=consent_version)
        document = _validated_document(id_type, id_number or "", attempted_by=by.pk)
    elif id_type:
        raise field_error("id_number", _("请填写证件号码"))
    name = (real_name if real_name is not None else by.real_name or "").strip()

    # The community's row serialises its sequence of numbers (and a double tap of "register").
    community = Community.objects.select_for_update().get(pk=community.pk)
    existing = Volunteer.objects.filter(user=by).first()
    if existing is not None:
        return existing, False
    volunteer = Volunteer(
        user=by,
        community=community,
        volunteer_number=_next_volunteer_number(community),
        real_name=name,
        skills=(skills or "").strip(),
        registered_via=via,
    )
    if document is not None:
        _set_document(volunteer, id_type=document[0], number=document[1])
    try:
        with transaction.atomic():
            volunteer.save(force_insert=True)
    except IntegrityError as exc:
        existing = Volunteer.objects.filter(user=by).first()
        if existing is not None:
            return existing, False
        # Someone else's concurrent registration took the number first.
        raise attempts.id_number_refused() from exc
    return volunteer, True


@transaction.atomic
def update_volunteer(
    *,
    volunteer: Volunteer,
    by: User,
    real_name: str | None = None,
    skills: str | None = None,
    community: Community | None = None,
    id_type: str | None = None,
    id_number: str | None = None,
    consent: bool = False,
    consent_version: str | None = None,
) -> Volunteer:
    """The volunteer's own changes. The volunteer number never changes, even on moving community."""
    if volunteer.user_id != by.pk:
        raise DomainError("permission_denied", _("只能修改本人的志愿者资料"))
    return apply_volunteer_changes(
        volunteer=volunteer,
        real_name=real_name,
        skills=skills,
        community=community,
        id_type=id_type,
        id_number=id_number,
        consent=consent,
        consent_version=consent_version,
    )


def apply_volunteer_changes(
    *,
    volunteer: Volunteer,
    real_name: str | None = None,
    skills: str | None = None,
    community: Community | None = None,
    id_type: str | None = None,
    id_number: str | None = None,
    consent: bool = False,
    consent_version: str | None = None,
) -> Volunteer:
    """The profile's rules for a change whose author the caller has already checked: the volunteer
    (`update_volunteer`) or staff recording the paper form (`documents.record_id_number`). A number
    tried counts towards the volunteer's own daily bound, whoever types it: a secretary entering a
    day's paper forms spends each volunteer's count, not her own."""
    if real_name is not None and _blank(real_name):
        raise field_error("real_name", _("姓名不能为空"))
    document = None
    if id_number is not None:
        _require_consent(consent=consent, version=consent_version)
        document = _validated_document(id_type or volunteer.id_type or None, id_number, attempted_by=volunteer.user_id)
    elif id_type is not None and id_type != volunteer.id_type:
        raise field_error("id_number", _("更换证件类型时请同时填写证件号码"))
    volunteer = Volunteer.objects.select_for_update().get(pk=volunteer.pk)
    if real_name is not None:
        volunteer.real_name = real_name.strip()
    if skills is not None:
        volunteer.skills = skills.strip()
    if community is not None:
        volunteer.community = community
    if document is not None:
        _set_document(volunteer, id_type=document[0], number=document[1])
    try:
        with transaction.atomic():
            volunteer.save()
    except IntegrityError as exc:
        # Someone else's concurrent change took the number first.
        raise attempts.id_number_refused() from exc
    return volunteer


# Personal data (accounts.registry) ------------------------------------------------------------


def erase_personal_data(user: User, *, now: datetime) -> None:
    """Account deletion: the profile keeps its volunteer number (records and certificates point at
    it) and loses the name, skills and document. Certificates keep what they printed at issue, so a
    certificate already handed out still verifies (masked, as verification always shows it)."""
    Volunteer.objects.filter(user=user).update(
        real_name="",
        skills="",
        id_type="",
        id_number_encrypted="",
        id_number_hash=None,
        id_number_masked="",
        updated_at=now,
    )
    # One UPDATE, no signal: the kept leaderboards show the name (masked) until told.
    selectors.boards.touch()
