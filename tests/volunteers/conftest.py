import pytest

from tests import factories
from tests.volunteers.factories import VolunteerFactory


@pytest.fixture
def secretary(community):
    return factories.staff_of(community)


@pytest.fixture
def other_secretary(other_community):
    return factories.staff_of(other_community)


@pytest.fixture
def volunteer(community):
    return VolunteerFactory(community=community)
