"""The admin, outside the prediction pilot, audits the churn model, in headless Chromium."""

from __future__ import annotations

import pytest
from waffle import get_waffle_flag_model

from ai_features.capabilities.prediction import services
from crmcore import factories
from crmcore.workspaces import production_workspace
from tests.ai_features.prediction.helpers import make_history

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "pw-for-tests-only"


def test_model_card_and_bias_audit__admin_outside_the_pilot__opens_both(
    browser_page, live_server, login, settings, tmp_path
):
    # Given a trained churn model and a pilot of one rep, without the admin
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.AI_PREDICTION_MIN_AUC = 0.5
    services._artifacts.clear()
    workspace = production_workspace()
    make_history(workspace, customers=20, churned=20)
    version = services.model_version_train(workspace=workspace)
    rep = factories.UserFactory(username="pia", password=PASSWORD)
    flag, _ = get_waffle_flag_model().objects.get_or_create(name="ai_prediction")
    flag.save()
    flag.users.add(rep)
    flag.flush()
    factories.StaffUserFactory(username="root", password=PASSWORD)
    page = browser_page
    login(page, live_server, "root", PASSWORD)

    # When the admin opens the model list, the model card, then its bias audit
    page.goto(f"{live_server.url}/ai/prediction/")
    page.click(f"text=v{version.number}")
    summary = page.locator("[data-testid=model-summary]").inner_text()
    features = page.locator("[data-testid=features]").inner_text()
    page.click("text=Bias audit")
    heading = page.locator("h1").inner_text()

    # Then both pages answer with their content
    assert summary.startswith("Finds ")
    assert "customers who will leave among the 10% it ranks highest" in summary
    assert "Days since the last order" in features
    assert heading == f"Bias audit: churn model v{version.number}"
    assert page.locator("[data-testid=bias-groups]").count() == 1
