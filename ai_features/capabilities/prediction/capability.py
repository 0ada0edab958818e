from ai_features.capabilities.prediction.api import provide_contact_fields, provide_deal_fields
from ai_features.capabilities.prediction.panels import (
    churn_column,
    contact_panel,
    deal_badge_provider,
    deal_panel,
)
from ai_features.capabilities.prediction.signals import connect
from ai_features.declarations import Outcome, plan_declarations
from ai_features.registry import Capability
from ai_features.scheduling import Job, Schedule
from crmcore import extensions

PLAN_JOB, PLAN_SCHEDULE = plan_declarations("prediction")


class PredictionCapability(Capability):
    key = "prediction"
    title = "Prediction"
    description = (
        "Predicts churn risk, what each customer needs next and each open deal's chance "
        "to win, with the reasons shown; forecasts the pipeline."
    )
    lesson = "prediction-basics"
    facade = "ai_features.capabilities.prediction.facade.PredictionFacade"
    prepare_jobs = ("retrain_and_score", "train_win_model")  # tone: after sentiment's analysis
    prepare_order = 20
    events = {
        "contact.churn_risk_high": (
            "A customer's churn risk crossed into the high band "
            "(payload: contact_id, churn_risk, model_version)."
        ),
        "model.drift_detected": (
            "The data a live model scores has drifted from what it learned, or its "
            "probabilities disagree with the outcomes (payload: model, model_version, "
            "score_psi, drifted_features, calibration_gap, warnings)."
        ),
    }

    def panels(self) -> list[extensions.ContactPanel]:
        return [contact_panel()]

    def deal_panels(self) -> list[extensions.DealPanel]:
        return [deal_panel()]

    def deal_badges(self) -> list[extensions.DealBadgeProvider]:
        return [deal_badge_provider()]

    def contact_columns(self) -> list[extensions.ContactColumn]:
        return [churn_column()]

    def pages(self) -> list[extensions.PageUrls]:
        return [
            extensions.PageUrls(
                prefix="ai/prediction",
                urlconf="ai_features.capabilities.prediction.urls",
                namespace="prediction",
            )
        ]

    def nav_items(self) -> list[extensions.NavItem]:
        return [
            extensions.NavItem(
                key="prediction", label="Churn models", url_name="prediction:model-list", order=40
            ),
            extensions.NavItem(
                key="prediction-forecast",
                label="Forecast",
                url_name="prediction:forecast",
                order=41,
            ),
        ]

    def api_routes(self) -> list[extensions.ApiRoute]:
        return [
            extensions.ApiRoute(
                prefix="prediction", urlpatterns="ai_features.capabilities.prediction.api"
            )
        ]

    def api_fields(self) -> list[extensions.ApiFieldProvider]:
        return [
            extensions.ApiFieldProvider(
                key="prediction",
                model_label="crmcore.Contact",
                provide=provide_contact_fields,
                schema={
                    "churn_risk": "Predicted churn probability (0-1), when prediction is on.",
                    "churn_band": "low, medium or high churn risk.",
                },
            ),
            extensions.ApiFieldProvider(
                key="prediction-win",
                model_label="crmcore.Deal",
                provide=provide_deal_fields,
                schema={
                    "win_probability": (
                        "Predicted chance to win (0-1) of an open deal, when prediction is on."
                    )
                },
            ),
        ]

    def jobs(self) -> list[Job]:
        return [
            Job("train_models", "ai_features.capabilities.prediction.tasks.train_models_task"),
            Job("next_needs", "ai_features.capabilities.prediction.tasks.next_needs_task"),
            Job("score_contacts", "ai_features.capabilities.prediction.tasks.score_contacts_task"),
            Job(
                "retrain_and_score",
                "ai_features.capabilities.prediction.tasks.retrain_and_score_task",
            ),
            Job(
                "train_win_model",
                "ai_features.capabilities.prediction.tasks.train_win_model_task",
                description="Train a win model (published past the quality gate); score deals.",
            ),
            Job("score_deals", "ai_features.capabilities.prediction.tasks.score_deals_task"),
            Job(
                "refresh_scores",
                "ai_features.capabilities.prediction.tasks.refresh_scores_task",
                description="Re-score the customers and deals queued after a change.",
            ),
            Job(
                "nightly_refresh",
                "ai_features.capabilities.prediction.tasks.nightly_refresh_task",
                description="Drift check, retrain if old or drifted, re-score everything.",
            ),
            PLAN_JOB,
        ]

    def outcomes(self) -> list[Outcome]:
        rows = "ai_features.capabilities.prediction.outcomes."
        return [
            Outcome("deals_won", "Deals-won rate", rows + "deals_won", events="closed deals"),
            Outcome(
                "at_risk_retained",
                "At-risk customers retained after 60 days",
                rows + "at_risk_retained",
                events="churn warnings",
            ),
        ]

    def ready(self) -> None:
        connect()

    def schedules(self) -> list[Schedule]:
        return [
            Schedule(
                "nightly refresh",
                job="nightly_refresh",
                cron="30 2 * * *",
                description=(
                    "Check drift; retrain a model older than AI_PREDICTION_MAX_MODEL_AGE_DAYS "
                    "or drifted (past the quality gate); store every contact's next needs; "
                    "re-score every customer and open deal."
                ),
            ),
            Schedule(
                "score refresh",
                job="refresh_scores",
                cron="* * * * *",
                description="Re-score customers and deals changed since the last minute.",
            ),
            Schedule(
                "weekly retraining",
                job="retrain_and_score",
                cron="0 4 * * 0",
                description="Train a new churn model (published only past the quality gate).",
            ),
            PLAN_SCHEDULE,
        ]
