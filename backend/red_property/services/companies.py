"""The property company register: the staff of its street keep it, its admins remove from it."""

from __future__ import annotations

from typing import Any

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from backend.accounts.models import User
from backend.communities.models import PartyOrganization, Street
from backend.core import credit_code
from backend.core.errors import DomainError, field_error

from .. import selectors
from ..models import (
    EstateGovernance,
    PropertyCompany,
)
from ._common import (
    check_fields,
    denied,
    require_street_admin,
    user_or_none,
)

COMPANY_FIELDS = {
    "name",
    "credit_code",
    "street",
    "address",
    "contact_name",
    "contact_phone",
    "party_organization",
    "party_member_count",
}


def can_keep_register(*, user: User, street_id: int) -> bool:
    """The staff of the street: its admins and the staff of its communities."""
    streets = selectors.reachable_street_ids(user)
    return streets is None or street_id in streets


def _clean_credit_code(value: str) -> str:
    try:
        return credit_code.validate(value)
    except credit_code.InvalidCreditCode as exc:
        raise field_error("credit_code", exc.reason) from None


def _save_company(company: PropertyCompany) -> PropertyCompany:
    if PropertyCompany.objects.filter(credit_code=company.credit_code).exclude(pk=company.pk).exists():
        raise field_error("credit_code", _("该统一社会信用代码已登记"))
    try:
        with transaction.atomic():
            company.save()
    except IntegrityError:  # the same code registered at the same moment
        raise field_error("credit_code", _("该统一社会信用代码已登记")) from None
    return company


@transaction.atomic
def create_property_company(
    *,
    by: User,
    name: str,
    credit_code: str,
    street: Street,
    address: str = "",
    contact_name: str = "",
    contact_phone: str = "",
    party_organization: PartyOrganization | None = None,
    party_member_count: int = 0,
) -> PropertyCompany:
    if not can_keep_register(user=by, street_id=street.pk):
        raise denied(_("只能登记本街道的物业公司"))
    company = PropertyCompany(
        name=name,
        credit_code=_clean_credit_code(credit_code),
        street=street,
        address=address,
        contact_name=contact_name,
        contact_phone=contact_phone,
        party_organization=party_organization,
        party_member_count=party_member_count,
        created_by=user_or_none(by),
    )
    return _save_company(company)


@transaction.atomic
def update_property_company(*, by: User, company: PropertyCompany, **changes: Any) -> PropertyCompany:
    check_fields(changes, COMPANY_FIELDS, "property company")
    company = PropertyCompany.objects.select_for_update().get(pk=company.pk)
    if not can_keep_register(user=by, street_id=company.street_id):
        raise denied(_("只能修改本街道登记的物业公司"))
    if "street" in changes and not can_keep_register(user=by, street_id=changes["street"].pk):
        raise field_error("street", _("只能转到本人所在的街道"))
    if "credit_code" in changes:
        changes["credit_code"] = _clean_credit_code(changes["credit_code"])
    for name, value in changes.items():
        setattr(company, name, value)
    return _save_company(company)


@transaction.atomic
def delete_property_company(*, by: User, company: PropertyCompany) -> None:
    company = PropertyCompany.objects.select_for_update().get(pk=company.pk)
    require_street_admin(by, company.street_id)
    if EstateGovernance.objects.filter(property_company=company).exists():
        raise DomainError("conflict", _("该物业公司仍在服务小区, 请先在小区治理中更换或移除"))
    company.delete()
