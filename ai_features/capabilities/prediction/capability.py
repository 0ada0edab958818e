from ai_features.capabilities.prediction.api import provide_contact_fields
from ai_features.capabilities.prediction.panels import contact_panel
from ai_features.declarations import Outcome, plan_declarations
from ai_features.registry import Capability
from ai_features.scheduling import Job, Schedule
from crmcore import extensions

PLAN_JOB, PLAN_SCHEDULE = plan_declarations("prediction")


class PredictionCapability(Capability):
    key = "prediction"
    title = "Prediction"
    description = "Predicts churn risk and what each customer needs next, with the reasons shown."
    lesson = "prediction-basics"
    facade = "ai_features.capabilities.prediction.facade.PredictionFacade"
    prepare_jobs = ("retrain_and_score",)  # reads tone: after sentiment's analysis
    prepare_order = 20
    events = {
        "contact.churn_risk_high": (
            "A customer's churn risk crossed into the high band "
            "(payload: contact_id, churn_risk, model_version)."
        ),
    }

    def panels(self) -> list[extensions.ContactPanel]:
        return [contact_panel()]

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
            )
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
            )
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

    def schedules(self) -> list[Schedule]:
        return [
            Schedule(
                "nightly scoring",
                job="score_contacts",
                cron="30 2 * * *",
                description=(
                    "Store every contact's next needs, then re-score every customer with the "
                    "published churn model."
                ),
            ),
            Schedule(
                "weekly retraining",
                job="retrain_and_score",
                cron="0 4 * * 0",
                description="Train a new churn model (published only past the quality gate).",
            ),
            PLAN_SCHEDULE,
        ]
