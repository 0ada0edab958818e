import pytest
from waffle.testutils import override_switch

from ai_features.gate import KILL_SWITCH
from crmcore import factories
from tests.ai_features.personalization.helpers import two_customers


@pytest.fixture
def personalization_on(enable_capability):
    return enable_capability("personalization")


@pytest.fixture
def all_on(enable_capability):
    for key in ("personalization", "prediction", "sentiment"):
        enable_capability(key)


@pytest.fixture
def kill_switch(db):
    with override_switch(KILL_SWITCH, active=True):
        yield


@pytest.fixture
def customers(workspace):
    return two_customers(workspace)


@pytest.fixture
def campaign(workspace, user, customers):
    return factories.CampaignFactory(
        workspace=workspace,
        created_by=user,
        goal="win_back",
        audience={"lifecycle_stage": "customer"},
        subject_template="{first_name}, we miss you",
        body_template="Hi {first_name},\n\nWe have news for {company}.\n\nBest regards",
    )
