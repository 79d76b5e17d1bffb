"""The demo governance: the five self-governance pilots from the source, companies, the sheet; idempotent."""

import pytest

from backend.communities.models import Estate
from backend.core.credit_code import is_valid
from backend.demo.services import seed_demo
from backend.red_property.demo import seed_red_property
from backend.red_property.models import (
    AssessmentItem,
    AssessmentStandard,
    EstateGovernance,
    PropertyCompany,
    SelfGovernanceGroup,
    SelfGovernanceMember,
)

pytestmark = pytest.mark.django_db

PILOTS = {
    "天润小区": "九华山社区",
    "磷化小区": "九华山社区",
    "北门新区": "九华山社区",
    "新世苑家属区": "岳阳楼社区",
    "迎奥小区": "剪刀池社区",
}
MODELS = (
    PropertyCompany,
    EstateGovernance,
    SelfGovernanceGroup,
    SelfGovernanceMember,
    AssessmentItem,
    AssessmentStandard,
)


def _snapshot() -> dict[str, list]:
    return {model.__name__: list(model.objects.order_by("pk").values()) for model in MODELS}


def test_seed_demo_records_the_pilots_and_the_companies():
    first = seed_demo()
    assert first.red_property_changed

    for estate_name, community_name in PILOTS.items():
        estate = Estate.objects.get(name=estate_name, community__name=community_name)
        assert estate.has_property_service is False
        assert estate.governance.property_company is None
        group = SelfGovernanceGroup.objects.get(estate=estate)
        assert group.name == f"{estate_name}居民自治小组"
        assert group.members.filter(role="leader").count() == 1

    companies = list(PropertyCompany.objects.all())
    assert len(companies) == 2 and all(is_valid(c.credit_code) for c in companies)
    for governance in EstateGovernance.objects.filter(property_company__isnull=False).select_related("estate"):
        assert governance.estate.has_property_service is True
    assert EstateGovernance.objects.get(is_red_property=True).estate.name == "巴陵苑"
    assert sum(item.max_points for item in AssessmentItem.objects.all()) == 100


def test_second_run_changes_nothing():
    seed_demo()
    before = _snapshot()
    second = seed_demo()
    assert not second.red_property_changed and not second.changed
    assert _snapshot() == before


def test_without_the_map_it_does_nothing():
    assert not seed_red_property().changed
    assert not PropertyCompany.objects.exists()
