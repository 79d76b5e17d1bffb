"""WeChat sign-in: login through code2Session and binding the phone WeChat verified."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils.translation import gettext as _

from backend.core.errors import DomainError, field_error
from backend.core.wechat import WeChatClient

from .models import MOBILE_RE, User
from .services import close_sessions

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class PhoneBinding:
    """What binding did. `joined`: the WeChat identity moved onto `user`, an existing account."""

    user: User
    phone: str
    joined: bool


def _refuse_inactive(user: User) -> None:
    if not user.is_active:
        raise DomainError("permission_denied", _("该账号已停用"))


def login_with_wechat(*, code: str) -> tuple[User, bool]:
    """The user behind a `wx.login` code, made on first sight. Returns (user, is_new)."""
    # The WeChat call stays outside any transaction: no row is locked while we wait on it.
    session = WeChatClient().code2session(code)
    openid, unionid = session.openid, session.unionid

    with transaction.atomic():
        user = User.objects.select_for_update().filter(wechat_openid=openid).first()
        if user is not None:
            _refuse_inactive(user)
            if unionid and user.wechat_unionid != unionid:
                user.wechat_unionid = unionid
                user.save(update_fields=["wechat_unionid"])
            return user, False

    user = User(wechat_openid=openid, wechat_unionid=unionid)
    user.set_unusable_password()
    try:
        with transaction.atomic():
            user.save(force_insert=True)
    except IntegrityError:
        # A concurrent first login of the same person created the row first: that is the user.
        user = User.objects.get(wechat_openid=openid)
        _refuse_inactive(user)
        return user, False
    return user, True


def bind_phone(*, user: User, code: str) -> PhoneBinding:
    """Bind the phone behind a `getPhoneNumber` code to `user`, or join the account holding it.

    - the phone is free: it becomes `user`'s;
    - a console account holds it and has no WeChat identity: `user`'s WeChat identity moves onto
      that account, and `user` (then empty) is deactivated;
    - the holder already has a WeChat identity: 409 `phone_taken`.
    """
    info = WeChatClient().get_phone_number(code)
    if info.watermark_appid != settings.WECHAT_APPID:
        # A code obtained by another mini-program: its phone was verified for someone else's app.
        raise DomainError("invalid_code", _("手机号凭证不属于本小程序（watermark 中的 appid 不符），请重新获取"))
    phone = info.pure_phone_number
    if info.country_code not in ("", "86") or not re.fullmatch(MOBILE_RE, phone):
        raise field_error("code", _("仅支持中国大陆手机号"))

    try:
        with transaction.atomic():
            return _bind(user_id=user.pk, phone=phone)
    except IntegrityError:
        # Someone else took the phone between our read and our write.
        raise DomainError("phone_taken", _("该手机号已被其他账号绑定")) from None


def _bind(*, user_id: int, phone: str) -> PhoneBinding:
    # Both rows locked in id order, so two bindings crossing each other cannot deadlock.
    rows = {u.pk: u for u in User.objects.select_for_update().filter(Q(pk=user_id) | Q(phone=phone)).order_by("pk")}
    me = rows.pop(user_id)
    _refuse_inactive(me)
    if me.phone == phone:
        return PhoneBinding(user=me, phone=phone, joined=False)
    holder = next(iter(rows.values()), None)

    if holder is None:
        me.phone = phone
        me.save(update_fields=["phone"])
        return PhoneBinding(user=me, phone=phone, joined=False)

    if holder.wechat_openid or holder.wechat_unionid or not me.wechat_openid or not holder.is_active:
        raise DomainError("phone_taken", _("该手机号已被其他账号绑定"))

    openid, unionid = me.wechat_openid, me.wechat_unionid
    # The identity leaves `me` first: openid is unique, and both rows cannot hold it at once.
    me.wechat_openid = None
    me.wechat_unionid = None
    # Its phone goes too: a deactivated row must not keep a number from the person who owns it.
    me.phone = None
    me.is_active = False
    me.save(update_fields=["wechat_openid", "wechat_unionid", "phone", "is_active"])
    close_sessions(user_id=me.pk)

    holder.wechat_openid = openid
    holder.wechat_unionid = unionid
    changed = ["wechat_openid", "wechat_unionid"]
    # What the person chose in the mini-program is kept where the account had nothing.
    if not holder.nickname and me.nickname:
        holder.nickname = me.nickname
        changed.append("nickname")
    if holder.community_id is None and me.community_id is not None:
        holder.community_id = me.community_id
        changed.append("community")
    holder.save(update_fields=changed)
    logger.info("wechat identity of user %s joined account %s; user %s deactivated", me.pk, holder.pk, me.pk)
    return PhoneBinding(user=holder, phone=phone, joined=True)
