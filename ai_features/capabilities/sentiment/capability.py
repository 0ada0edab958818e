from ai_features.registry import Capability
from crmcore import extensions


class SentimentCapability(Capability):
    key = "sentiment"
    title = "Sentiment"
    description = "Reads the tone of every interaction and explains which words moved it."
    lesson = "sentiment-basics"
    events = {
        "contact.sentiment_dropped": (
            "A contact's recent tone fell below their own baseline "
            "(payload: contact_id, baseline_polarity, recent_polarity, drop)."
        ),
    }

    def panels(self) -> list[extensions.ContactPanel]:
        from ai_features.capabilities.sentiment.panels import render_contact_panel

        return [
            extensions.ContactPanel(
                key="sentiment", title="Sentiment", render=render_contact_panel, order=30
            )
        ]

    def api_routes(self) -> list[extensions.ApiRoute]:
        return [
            extensions.ApiRoute(
                prefix="ai/sentiment", urlpatterns="ai_features.capabilities.sentiment.api"
            )
        ]

    def jobs(self) -> dict[str, str]:
        return {
            "analyze": "ai_features.capabilities.sentiment.tasks.analyze_workspace_task",
            "train": "ai_features.capabilities.sentiment.tasks.train_model_task",
        }

    def ready(self) -> None:
        # Wiring only: the modules imported here import neither textblob nor sklearn.
        from ai_features import gate
        from ai_features.capabilities.sentiment import api, tasks
        from crmcore.events import subscribe_batch

        extensions.api_field_providers.register(api.INTERACTION_FIELDS)
        extensions.api_field_providers.register(api.CONTACT_FIELDS)
        extensions.page_urls.register(
            extensions.PageUrls(
                prefix="ai/sentiment",
                urlconf="ai_features.capabilities.sentiment.urls",
                namespace="sentiment",
            )
        )
        extensions.nav_items.register(
            extensions.NavItem(
                key="sentiment-alerts",
                label="Sentiment",
                url_name="sentiment:alert-list",
                visible=lambda request: gate.is_enabled(
                    "sentiment", request.user, request.workspace
                ),
                order=60,
            )
        )
        subscribe_batch(tasks.on_interactions_created)
