from ai_features.capabilities.sentiment import api, listeners
from ai_features.capabilities.sentiment.panels import render_contact_panel
from ai_features.declarations import Outcome, plan_declarations
from ai_features.registry import Capability
from ai_features.scheduling import Job, Schedule
from crmcore import extensions
from crmcore.events import subscribe_batch

PLAN_JOB, PLAN_SCHEDULE = plan_declarations("sentiment")


class SentimentCapability(Capability):
    key = "sentiment"
    title = "Sentiment"
    description = "Reads the tone of every interaction and explains which words moved it."
    lesson = "sentiment-basics"
    facade = "ai_features.capabilities.sentiment.facade.SentimentFacade"
    prepare_jobs = ("analyze",)
    prepare_order = 10
    events = {
        "contact.sentiment_dropped": (
            "A contact's recent tone fell below their own baseline "
            "(payload: contact_id, baseline_polarity, recent_polarity, drop)."
        ),
    }

    def panels(self) -> list[extensions.ContactPanel]:
        return [
            extensions.ContactPanel(
                key="sentiment", title="Sentiment", render=render_contact_panel, order=30
            )
        ]

    def pages(self) -> list[extensions.PageUrls]:
        return [
            extensions.PageUrls(
                prefix="ai/sentiment",
                urlconf="ai_features.capabilities.sentiment.urls",
                namespace="sentiment",
            )
        ]

    def nav_items(self) -> list[extensions.NavItem]:
        return [
            extensions.NavItem(
                key="sentiment-alerts", label="Sentiment", url_name="sentiment:alert-list", order=60
            )
        ]

    def api_routes(self) -> list[extensions.ApiRoute]:
        return [
            extensions.ApiRoute(
                prefix="ai/sentiment", urlpatterns="ai_features.capabilities.sentiment.api"
            )
        ]

    def api_fields(self) -> list[extensions.ApiFieldProvider]:
        return [api.INTERACTION_FIELDS, api.CONTACT_FIELDS]

    def outcomes(self) -> list[Outcome]:
        return [
            Outcome(
                "hours_to_answer",
                "Time to answer a negative or urgent message",
                "ai_features.capabilities.sentiment.outcomes.hours_to_answer",
                unit="hours",
                higher_is_better=False,
                events="negative or urgent messages",
            )
        ]

    def jobs(self) -> list[Job]:
        return [
            Job("analyze", "ai_features.capabilities.sentiment.tasks.analyze_workspace_task"),
            Job(
                "analyze_interactions",
                "ai_features.capabilities.sentiment.tasks.analyze_interactions_task",
            ),
            Job("train", "ai_features.capabilities.sentiment.tasks.train_model_task"),
            PLAN_JOB,
        ]

    def schedules(self) -> list[Schedule]:
        return [
            Schedule(
                "nightly analysis",
                job="analyze",
                cron="0 3 * * *",
                description="Analyse interactions that were missed or changed (incremental).",
            ),
            PLAN_SCHEDULE,
        ]

    def ready(self) -> None:
        # Wiring only: none of the modules imported here imports textblob or sklearn.
        subscribe_batch(listeners.on_interactions_created)
