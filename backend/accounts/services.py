"""Account writes: role grants and revocations, profile changes, staff accounts, account deletion."""

from __future__ import annotations

import logging
from datetime import datetime

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from backend.communities.models import Community, Grid, PartyOrganization, Street
from backend.core.errors import DomainError, field_error
from backend.core.models import Upload

from .models import SCOPE_FIELD_BY_ROLE, Role, RoleGrant, User
from .registry import personal_data_erasers, session_closers
from .scoping import forget_scope, get_scope
from .selectors import grantable_account

logger = logging.getLogger(__name__)

# What a role is granted over: one of these, by role (SCOPE_FIELD_BY_ROLE).
ScopePlace = Street | Community | Grid | PartyOrganization

# The roles a community secretary may hand out inside their own community.
SECRETARY_GRANTABLE = {Role.COMMUNITY_STAFF, Role.GRID_WORKER}


def _scope_community_id(*, role: Role, target: ScopePlace) -> int | None:
    if role in (Role.COMMUNITY_SECRETARY, Role.COMMUNITY_STAFF) and isinstance(target, Community):
        return target.pk
    if role == Role.GRID_WORKER and isinstance(target, Grid):
        return target.community_id
    return None


def _scope_street_id(*, role: Role, target: ScopePlace) -> int | None:
    # Each role's place is of one kind (SCOPE_FIELD_BY_ROLE); the isinstance checks only name it.
    if role == Role.STREET_ADMIN and isinstance(target, Street):
        return target.pk
    if role in (Role.COMMUNITY_SECRETARY, Role.COMMUNITY_STAFF) and isinstance(target, Community):
        return target.street_id
    if role == Role.GRID_WORKER and isinstance(target, Grid):
        return target.community.street_id
    if role == Role.UNIT_LIAISON and isinstance(target, PartyOrganization):
        if target.street_id is not None:
            return target.street_id
        return target.community.street_id if target.community is not None else None
    return None


def manages_roles_in(*, granter: User, community_id: int | None) -> bool:
    """Whether the granter hands out roles in that community: its secretary, or its street's admin."""
    scope = get_scope(granter)
    return scope.is_superuser or (community_id is not None and community_id in scope.secretary_community_ids)


def may_grant(*, granter: User, role: Role, target: ScopePlace) -> bool:
    """Street admins grant any role inside their street; secretaries staff roles in their community."""
    scope = get_scope(granter)
    if scope.is_superuser:
        return True
    street_id = _scope_street_id(role=role, target=target)
    if street_id is not None and street_id in scope.street_ids:
        return True
    community_id = _scope_community_id(role=role, target=target)
    return role in SECRETARY_GRANTABLE and manages_roles_in(granter=granter, community_id=community_id)


def _checked_place(*, granter: User | None, role: Role, places: dict[str, ScopePlace | None]) -> tuple[str, ScopePlace]:
    """The one place `role` is granted over, and the granter's right to grant it there."""
    field = SCOPE_FIELD_BY_ROLE[role]
    target = places[field]
    if target is None or any(v is not None for k, v in places.items() if k != field):
        raise DomainError(
            "validation_error",
            _("角色与范围不匹配"),
            fields={field: [_("角色 %(role)s 需要且只需要指定%(field)s") % {"role": role.label, "field": field}]},
        )
    if granter is not None and not may_grant(granter=granter, role=role, target=target):
        raise DomainError("permission_denied", _("无权在此范围授予该角色"))
    return field, target


@transaction.atomic
def grant_role_by_phone(
    *,
    granter: User,
    phone: str,
    role: Role | str,
    street: Street | None = None,
    community: Community | None = None,
    grid: Grid | None = None,
    organization: PartyOrganization | None = None,
) -> tuple[RoleGrant, bool]:
    """Grant `role` to the account holding `phone`, which the granter must be able to see.

    No account is made and none is changed: the person signs in to the mini-program first (and
    chooses their community), or already holds a role in the granter's scope. An unknown phone and
    a phone the granter may not see get the same answer.
    """
    role = Role(role)
    places: dict[str, ScopePlace | None] = {
        "street": street,
        "community": community,
        "grid": grid,
        "organization": organization,
    }
    _checked_place(granter=granter, role=role, places=places)
    user = grantable_account(granter=granter, phone=phone)
    if user is None:
        raise field_error("phone", _("未找到该手机号的账号: 请对方先登录小程序并选择所在社区"))
    return grant_role(
        granter=granter, user=user, role=role, street=street, community=community, grid=grid, organization=organization
    )


@transaction.atomic
def grant_role(
    *,
    granter: User | None,
    user: User,
    role: Role | str,
    street: Street | None = None,
    community: Community | None = None,
    grid: Grid | None = None,
    organization: PartyOrganization | None = None,
    decided_by: User | None = None,
) -> tuple[RoleGrant, bool]:
    """Grant `role` over one place. Granting what is already held returns the grant (created=False).

    `decided_by`: without a granter, the grant follows from that person's decision (staff approving
    a unit's registration make its filer the unit's liaison); the caller checked their authority,
    and they are recorded as the granter.
    """
    role = Role(role)
    if granter is not None and granter.pk == user.pk and not get_scope(granter).is_superuser:
        # A grant to oneself would outlive the grant it came from: roles come from someone else.
        raise DomainError("permission_denied", _("不能为本人授权"))
    field, target = _checked_place(
        granter=granter,
        role=role,
        places={"street": street, "community": community, "grid": grid, "organization": organization},
    )
    existing = RoleGrant.objects.filter(user=user, role=role, revoked_at__isnull=True, **{field: target}).first()
    if existing:
        return existing, False
    try:
        with transaction.atomic():
            grant = RoleGrant.objects.create(user=user, role=role, granted_by=granter or decided_by, **{field: target})
    except IntegrityError:
        # A concurrent identical grant won the race: answer with it.
        return RoleGrant.objects.get(user=user, role=role, revoked_at__isnull=True, **{field: target}), False
    forget_scope(user)
    return grant, True


def close_sessions(*, user_id: int) -> None:
    """Once the transaction commits, end the account's open sessions (its sockets) everywhere.

    Tokens alone are not enough: an open socket was authorised once, at connect, and would go on
    receiving, and watching, with the scope the account had then.
    """

    def close() -> None:
        for name, closer in session_closers.items():
            try:
                closer(user_id)
            except Exception:
                # The write stands; the socket still dies at its token's expiry.
                logger.exception("session closer %s failed for user %s", name, user_id)

    transaction.on_commit(close)


@transaction.atomic
def revoke_role(*, revoker: User | None, grant: RoleGrant, decided_by: User | None = None) -> RoleGrant:
    """End a grant. `decided_by`, as in grant_role: without a revoker, the revocation follows from
    that person's decision (ending a unit's registration ends its liaison's role)."""
    grant = RoleGrant.objects.select_for_update().get(pk=grant.pk)
    if grant.revoked_at is not None:
        return grant
    if revoker is not None and not may_grant(granter=revoker, role=Role(grant.role), target=grant.scope_object):
        raise DomainError("permission_denied", _("无权撤销该角色"))
    grant.revoked_at = timezone.now()
    grant.revoked_by = revoker or decided_by
    grant.save(update_fields=["revoked_at", "revoked_by"])
    forget_scope(grant.user)
    close_sessions(user_id=grant.user_id)
    return grant


@transaction.atomic
def get_or_create_user_by_phone(*, phone: str, real_name: str = "") -> tuple[User, bool]:
    """The account a role is granted to: found by phone, or made with no usable password.

    A person later logging in through WeChat and binding this phone joins that account.
    """
    user = User.objects.filter(phone=phone).first()
    if user:
        if real_name and not user.real_name:
            user.real_name = real_name
            user.save(update_fields=["real_name"])
        return user, False
    try:
        with transaction.atomic():
            return User.objects.create_user(phone=phone, real_name=real_name), True
    except IntegrityError:
        return User.objects.get(phone=phone), False


@transaction.atomic
def update_profile(*, user: User, **changes: object) -> User:
    allowed = {"real_name", "nickname", "community"}
    unknown = set(changes) - allowed
    if unknown:
        raise ValueError(f"not profile fields: {sorted(unknown)}")
    for name, value in changes.items():
        setattr(user, name, value)
    user.save(update_fields=list(changes) or None)
    return user


@transaction.atomic
def create_staff_account(
    *,
    phone: str,
    password: str,
    role: Role | str,
    real_name: str = "",
    street: Street | None = None,
    community: Community | None = None,
    grid: Grid | None = None,
    organization: PartyOrganization | None = None,
) -> tuple[User, RoleGrant]:
    """For `manage.py create_staff` and demo data: a console account with a password and a role."""
    user, _created = get_or_create_user_by_phone(phone=phone, real_name=real_name)
    user.set_password(password)
    user.save(update_fields=["password"])
    grant, _ = grant_role(
        granter=None, user=user, role=role, street=street, community=community, grid=grid, organization=organization
    )
    return user, grant


# Account deletion (PIPL art. 47) -------------------------------------------------------------


def verify_identity(*, user: User, current_password: str = "", wechat_code: str = "") -> None:
    """A fresh proof that the person holding the token is the account's owner.

    Password accounts give their password; WeChat accounts (most have no usable password) a new
    `wx.login` code, which must resolve to the account's own openid. Either proof the account has
    will do. A stolen access token alone is not enough to delete an account.
    """
    if current_password:
        if not user.has_usable_password() or not user.check_password(current_password):
            raise field_error("current_password", _("密码不正确"))
        return
    if wechat_code:
        if not user.wechat_openid:
            raise field_error("wechat_code", _("该账号未绑定微信, 请输入当前密码"))
        # Imported here: the WeChat client is needed by this path only, and it is a network call.
        from backend.core.wechat import WeChatClient

        session = WeChatClient().code2session(wechat_code)
        if session.openid != user.wechat_openid:
            raise field_error("wechat_code", _("请使用该账号绑定的微信确认"), code="invalid_code")
        return
    if user.has_usable_password():
        raise field_error("current_password", _("请输入当前密码"))
    raise field_error("wechat_code", _("请在小程序中重新授权微信登录后确认"))


def _revoke_tokens(user: User) -> None:
    """Every refresh token still outstanding is blacklisted; access tokens die with is_active=False."""
    from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken

    outstanding = OutstandingToken.objects.filter(
        user=user, expires_at__gt=timezone.now(), blacklistedtoken__isnull=True
    )
    BlacklistedToken.objects.bulk_create(
        [BlacklistedToken(token=token) for token in outstanding], ignore_conflicts=True
    )


@transaction.atomic
def anonymise_account(*, user: User, now: datetime | None = None) -> bool:
    """Strip the account of everything that identifies the person; False if that was done before.

    Each app anonymises its own profile rows (`registry.personal_data_erasers`); ledgers keep
    their rows, now pointing at a pseudonymous account (`用户{id}`). Then the account itself:
    phone, names, WeChat identity and home community go, the password becomes unusable, the account
    is deactivated (its tokens stop working) and its role grants are revoked.
    """
    now = now or timezone.now()
    account = User.objects.select_for_update().get(pk=user.pk)
    if account.anonymised_at is not None:
        return False
    for _app, eraser in personal_data_erasers.items():
        eraser(account, now=now)
    # The files stay with what they document (an appeal, a record); their names were the person's.
    Upload.objects.filter(owner=account).exclude(original_name="").update(original_name="")
    RoleGrant.objects.filter(user=account, revoked_at__isnull=True).update(revoked_at=now, revoked_by=account)
    account.phone = None
    account.real_name = ""
    account.nickname = ""
    account.wechat_openid = None
    account.wechat_unionid = None
    account.community = None
    account.set_unusable_password()
    account.is_active = False
    account.is_staff = False
    account.is_superuser = False
    account.anonymised_at = now
    account.save()
    account.groups.clear()
    account.user_permissions.clear()
    _revoke_tokens(account)
    forget_scope(account)
    forget_scope(user)
    close_sessions(user_id=account.pk)
    logger.info("account %s deleted at the owner's request and anonymised", account.pk)
    return True


def delete_account(*, user: User, current_password: str = "", wechat_code: str = "") -> bool:
    """The owner deletes their account: identity checked first (the WeChat call outside any transaction)."""
    verify_identity(user=user, current_password=current_password, wechat_code=wechat_code)
    return anonymise_account(user=user)
