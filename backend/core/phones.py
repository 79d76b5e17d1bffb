"""The phone numbers a person can be called back on, shared by every app that keeps one."""

from __future__ import annotations

from django.core.validators import RegexValidator

# A mainland mobile, or a landline with its area code (a front desk or an elderly resident's home
# phone is often a landline). Anything longer or looser cannot be dialled, so it is refused at entry.
PHONE_RE = r"^(1[3-9]\d{9}|0\d{2,3}-?\d{7,8})$"
PHONE_MESSAGE = "请输入有效的手机号或带区号的固定电话"
phone_validator = RegexValidator(PHONE_RE, PHONE_MESSAGE, code="invalid_phone")
