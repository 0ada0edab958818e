import datetime as dt

import pytest
from django.core.management import call_command
from django.utils import timezone
from waffle.testutils import override_switch

from ai_features.capabilities.prediction import services
from ai_features.capabilities.prediction.models import ContactScore, ModelVersion
from ai_features.capabilities.prediction.selectors import model_card_summary
from ai_features.models import SuggestionEvent
from tests.ai_features.prediction.helpers import make_history


@pytest.fixture
def scored(workspace, settings):
    settings.AI_PREDICTION_MIN_AUC = 0.5
    contacts = make_history(workspace, customers=20, churned=20)
    version = services.model_version_train(workspace=workspace)
    services.contact_next_needs_refresh(workspace=workspace)
    services.contacts_score(workspace=workspace)
    return contacts, version


def test_contact_panel__flag_on__risk_chart_products_and_action(
    scored, logged_in_client, prediction_on
):
    contacts, _ = scored

    html = logged_in_client.get(f"/contacts/{contacts[0].pk}/").content.decode()

    assert 'data-testid="prediction-panel"' in html
    assert 'data-testid="churn-risk"' in html
    assert '<svg xmlns="http://www.w3.org/2000/svg"' in html
    assert 'data-testid="next-action"' in html


def test_contact_panel__flag_off__absent(scored, logged_in_client):
    contacts, _ = scored

    html = logged_in_client.get(f"/contacts/{contacts[0].pk}/").content.decode()

    assert "prediction-panel" not in html


def test_contact_panel__kill_switch__absent(scored, logged_in_client, prediction_on):
    contacts, _ = scored
    with override_switch("ai_kill_switch", active=True):
        html = logged_in_client.get(f"/contacts/{contacts[0].pk}/").content.decode()

    assert "prediction-panel" not in html


def test_contact_panel__too_little_history__says_so_instead_of_a_score(
    workspace, logged_in_client, prediction_on
):
    contacts = make_history(workspace, customers=3, churned=2)
    services.model_version_train(workspace=workspace)

    html = logged_in_client.get(f"/contacts/{contacts[0].pk}/").content.decode()

    assert "Not enough history to predict churn yet: 2 churned and 3 current customers" in html
    assert "churn-risk" not in html


@pytest.mark.parametrize(
    "path", ["/ai/prediction/", "/ai/prediction/models/{pk}/", "/ai/prediction/models/{pk}/bias/"]
)
def test_governance_pages__staff_outside_the_pilot__open_whatever_the_flag(
    scored, staff_client, enable_capability, path
):
    _, version = scored
    url = path.format(pk=version.pk)

    response = staff_client.get(url)
    assert response.status_code == 200
    assert f">v{version.number}<" in response.content.decode() or (
        f"churn model v{version.number}" in response.content.decode()
    )
    enable_capability("prediction")
    assert staff_client.get(url).status_code == 200
    with override_switch("ai_kill_switch", active=True):
        assert staff_client.get(url).status_code == 200


@pytest.mark.parametrize("path", ["/ai/prediction/", "/ai/prediction/models/{pk}/"])
def test_governance_pages__rep__flag_on_off_and_kill_switch(
    scored, logged_in_client, user, enable_capability, path
):
    _, version = scored
    url = path.format(pk=version.pk)

    response = logged_in_client.get(url)
    assert response.status_code == 403
    assert "Prediction is not enabled for your team." in response.content.decode()
    enable_capability("prediction", users=[user])
    assert logged_in_client.get(url).status_code == 200
    with override_switch("ai_kill_switch", active=True):
        response = logged_in_client.get(url)
        assert response.status_code == 403
        assert "Prediction is switched off for everyone for now." in response.content.decode()


def test_model_card__staff_outside_the_pilot__summary_first_and_features_in_words(
    scored, staff_client
):
    _, version = scored
    trained = version.metrics["churned"] + version.metrics["customers"]

    html = staff_client.get(f"/ai/prediction/models/{version.pk}/").content.decode()

    summary = model_card_summary(version=version)
    assert summary.startswith("Finds ")
    assert f"trained on {trained} customers from " in summary
    assert f'<p class="lead" data-testid="model-summary">{summary}</p>' in html
    assert html.index('data-testid="model-summary"') < html.index('data-testid="metrics"')
    assert "Days since the last order, Orders in total," in html
    assert "days_since_last_order" not in html
    assert str(version.metrics["auc_unconstrained"]) in html


@pytest.mark.parametrize(
    ("top", "start", "expected"),
    [
        (
            0.9524,
            dt.datetime(2024, 3, 5, tzinfo=dt.UTC),
            "Finds 9 in 10 customers who will leave among the 10% it ranks highest "
            "(3 in 10 leave overall); trained on 4,212 customers from Mar 2024 to Nov 2026.",
        ),
        (
            0.7,
            dt.datetime(2026, 1, 5, tzinfo=dt.UTC),
            "Finds 7 in 10 customers who will leave among the 10% it ranks highest "
            "(3 in 10 leave overall); trained on 4,212 customers from Jan to Nov 2026.",
        ),
    ],
)
def test_model_card_summary__metrics_and_window__plain_sentence(top, start, expected):
    version = ModelVersion(
        metrics={"precision_top10": top, "base_rate": 0.3048, "churned": 1284, "customers": 2928},
        data_start=start,
        data_end=dt.datetime(2026, 11, 20, tzinfo=dt.UTC),
    )

    assert model_card_summary(version=version) == expected


def test_bias_audit__staff_outside_the_pilot__shows_the_audit(scored, staff_client):
    _, version = scored

    html = staff_client.get(f"/ai/prediction/models/{version.pk}/bias/").content.decode()

    assert f"Bias audit: churn model v{version.number}" in html
    assert 'data-testid="bias-groups"' in html


def test_model_list_page__versions__constant_queries(
    scored, workspace, staff_client, prediction_on, django_assert_num_queries
):
    services.model_version_train(workspace=workspace)
    staff_client.get("/ai/prediction/")
    with django_assert_num_queries(4):  # session, user, workspace, versions (flags cached)
        response = staff_client.get("/ai/prediction/")

    assert response.content.decode().count("Roll back to this") == 1


def test_model_card_page__metrics_reliability_and_coefficients(
    scored, logged_in_client, prediction_on
):
    _, version = scored

    html = logged_in_client.get(f"/ai/prediction/models/{version.pk}/").content.decode()

    assert f"Model card: churn model v{version.number}" in html
    assert str(version.metrics["auc"]) in html
    assert 'aria-label="Reliability diagram"' in html
    assert 'aria-label="Largest coefficients"' in html


def test_bias_page__non_staff__403(scored, logged_in_client, prediction_on):
    _, version = scored
    assert logged_in_client.get(f"/ai/prediction/models/{version.pk}/bias/").status_code == 403


def test_publish_page__staff_outside_the_pilot__rolls_back(scored, workspace, staff_client):
    _, first = scored
    services.model_version_train(workspace=workspace)

    response = staff_client.post(f"/ai/prediction/models/{first.pk}/publish/")

    assert response.status_code == 302
    assert ModelVersion.objects.get(is_live=True) == first


def test_feedback_page__accept_action__recorded(scored, logged_in_client, prediction_on):
    contacts, _ = scored

    response = logged_in_client.post(
        f"/ai/prediction/contacts/{contacts[0].pk}/feedback/",
        {"kind": "action", "action": "accepted", "item": "call"},
    )

    assert response.status_code == 302
    assert SuggestionEvent.objects.get().action == "accepted"


def test_feedback_page__flag_off__403_and_nothing_recorded(scored, logged_in_client):
    contacts, _ = scored

    response = logged_in_client.post(
        f"/ai/prediction/contacts/{contacts[0].pk}/feedback/",
        {"kind": "action", "action": "accepted"},
    )

    assert response.status_code == 403
    assert SuggestionEvent.objects.count() == 0


def test_train_models_command__flag_on__prints_auc(workspace, prediction_on, settings, capsys):
    settings.AI_PREDICTION_MIN_AUC = 0.5
    make_history(workspace, customers=20, churned=20)

    call_command("train_models", workspace=workspace.pk)

    out = capsys.readouterr().out
    assert "churn model v1 published (live) — AUC " in out
    assert "next needs: hit rate@3" in out
    assert "own most frequent" in out


def test_train_models_command__flag_off__skipped(workspace, capsys):
    make_history(workspace, customers=20, churned=20)

    call_command("train_models", workspace=workspace.pk)

    assert "skipped. Prediction is not enabled for anyone." in capsys.readouterr().out
    assert ModelVersion.objects.count() == 0


def test_jobs__kill_switch__skipped(scored, workspace, prediction_on, capsys):
    ContactScore.objects.all().delete()
    with override_switch("ai_kill_switch", active=True):
        call_command("train_models", workspace=workspace.pk)
        call_command("score_contacts", workspace=workspace.pk, no_progress=True)
        call_command("bias_audit", workspace=workspace.pk)

    out = capsys.readouterr().out
    assert out.count("skipped. AI features are switched off for everyone (kill switch).") == 3
    assert ModelVersion.objects.count() == 1
    assert ContactScore.objects.count() == 0


def test_score_contacts_command__flag_on__scores_customers_idempotently(
    scored, workspace, prediction_on, capsys
):
    call_command("score_contacts", workspace=workspace.pk, no_progress=True)
    call_command("score_contacts", workspace=workspace.pk, no_progress=True)

    out = capsys.readouterr().out
    assert out.count("scored 20 customers") == 2
    assert ContactScore.objects.count() == 20


def test_bias_audit_command__sensitive_attribute__table_printed(
    scored, workspace, prediction_on, capsys
):
    call_command("bias_audit", workspace=workspace.pk, sensitive=["plan"])

    out = capsys.readouterr().out
    assert "churn model v1, threshold 0.6" in out
    assert "  plan " in out


def test_contact_panel__flag_on__records_a_shown_pilot_metric_after_commit(
    scored, logged_in_client, prediction_on, user, django_capture_on_commit_callbacks
):
    contacts, _ = scored

    with django_capture_on_commit_callbacks(execute=True):
        logged_in_client.get(f"/contacts/{contacts[0].pk}/")

    event = SuggestionEvent.objects.get()
    assert (event.capability, event.action, event.user, event.object_id) == (
        "prediction",
        "shown",
        user,
        contacts[0].pk,
    )


def test_contact_panel__flag_off__records_nothing(
    scored, logged_in_client, django_capture_on_commit_callbacks
):
    contacts, _ = scored

    with django_capture_on_commit_callbacks(execute=True):
        logged_in_client.get(f"/contacts/{contacts[0].pk}/")

    assert SuggestionEvent.objects.count() == 0


def test_feedback_page__dismiss_with_reason__reason_kept(scored, logged_in_client, prediction_on):
    contacts, _ = scored

    logged_in_client.post(
        f"/ai/prediction/contacts/{contacts[0].pk}/feedback/",
        {"kind": "action", "action": "dismissed", "item": "call", "reason": " Called them today "},
    )

    event = SuggestionEvent.objects.get()
    assert (event.action, event.reason) == ("dismissed", "Called them today")


def test_model_card_page__next_need_hit_rates_against_both_baselines(scored, staff_client):
    _, version = scored
    version.metrics.update(
        {
            "next_need_cases": 250,
            "next_need_hit_at_3": 0.7243,
            "popular_hit_at_3": 0.4153,
            "frequent_hit_at_3": 0.2757,
        }
    )
    version.save(update_fields=["metrics"])

    html = staff_client.get(f"/ai/prediction/models/{version.pk}/").content.decode()

    assert "each of 250 held-out customers' last order" in html
    assert '<td class="num" data-testid="next-need-hit">72%</td>' in html
    assert '<td class="num" data-testid="popular-hit">42%</td>' in html
    assert '<td class="num" data-testid="frequent-hit">28%</td>' in html


def test_model_card_page__trained_metrics__next_need_section_filled(scored, staff_client):
    _, version = scored

    html = staff_client.get(f"/ai/prediction/models/{version.pk}/").content.decode()

    assert version.metrics["next_need_cases"] > 0
    section = html[html.index('data-testid="next-need-metrics"') :]
    assert "The customer's own most frequent products" in section
    assert f"{round(100 * version.metrics['frequent_hit_at_3'])}%" in section


def _scored_contact():
    from ai_features.capabilities.prediction.models import ContactScore

    return ContactScore.objects.select_related("contact").first()


def test_feedback_page__accept_next_action__makes_a_task_with_its_reason(
    scored, logged_in_client, user, prediction_on
):
    from crmcore.models import Task

    score = _scored_contact()
    response = logged_in_client.post(
        f"/ai/prediction/contacts/{score.contact_id}/feedback/",
        {"kind": "action", "action": "accepted", "item": "call", "reason": "they asked"},
        follow=True,
    )

    task = Task.objects.get()
    assert (task.owner, task.contact_id, task.source) == (
        user,
        score.contact_id,
        "next_best_action",
    )
    assert task.title == score.next_action["text"]
    assert task.due_date == timezone.localdate()
    percent = round(score.probability * 100)
    assert task.reason == (
        f"Suggested by the churn model: {percent}% churn risk ({score.band}). Your note: they asked"
    )
    assert "Added to your tasks for today" in response.content.decode()


def test_feedback_page__dismiss_or_product__no_task(scored, logged_in_client, prediction_on):
    from crmcore.models import Task

    score = _scored_contact()
    url = f"/ai/prediction/contacts/{score.contact_id}/feedback/"
    logged_in_client.post(url, {"kind": "action", "action": "dismissed"})
    logged_in_client.post(url, {"kind": "product", "action": "accepted", "item": "1"})
    assert not Task.objects.exists()


@pytest.mark.parametrize("state", ["flag_off", "kill_switch"])
def test_feedback_page__accept_when_off__403_and_no_task(scored, logged_in_client, request, state):
    from crmcore.models import Task

    if state == "kill_switch":
        request.getfixturevalue("prediction_on")
        request.getfixturevalue("kill_switch_on")
    score = _scored_contact()
    response = logged_in_client.post(
        f"/ai/prediction/contacts/{score.contact_id}/feedback/",
        {"kind": "action", "action": "accepted"},
    )
    assert response.status_code == 403
    assert not Task.objects.exists()


def test_scoring_job__do_not_profile_contact__not_scored_and_old_score_dropped(scored, workspace):
    score = _scored_contact()
    contact = score.contact
    contact.do_not_profile = True
    contact.save(update_fields=["do_not_profile"])
    others = ContactScore.objects.exclude(contact=contact).count()

    services.contacts_score(workspace=workspace)

    assert not ContactScore.objects.filter(contact=contact).exists()
    assert ContactScore.objects.count() == others
