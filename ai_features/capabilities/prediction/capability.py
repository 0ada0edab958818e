from ai_features.registry import Capability
from crmcore import extensions


def _nav_visible(request) -> bool:
    from ai_features.capabilities.prediction.access import is_enabled

    return is_enabled(request.user, request.workspace)


def _provide_contact_fields(request, objects):
    from ai_features.capabilities.prediction.api import provide_contact_fields

    return provide_contact_fields(request, objects)


class PredictionCapability(Capability):
    key = "prediction"
    title = "Prediction"
    description = "Predicts churn risk and what each customer needs next, with the reasons shown."
    lesson = "prediction-basics"
    events = {
        "contact.churn_risk_high": (
            "A customer's churn risk crossed into the high band "
            "(payload: contact_id, churn_risk, model_version)."
        ),
    }

    def panels(self) -> list[extensions.ContactPanel]:
        from ai_features.capabilities.prediction.panels import contact_panel

        return [contact_panel()]

    def api_routes(self) -> list[extensions.ApiRoute]:
        return [
            extensions.ApiRoute(
                prefix="prediction", urlpatterns="ai_features.capabilities.prediction.api"
            )
        ]

    def jobs(self) -> dict[str, str]:
        return {
            "train_models": "ai_features.capabilities.prediction.tasks.train_models_task",
            "score_contacts": "ai_features.capabilities.prediction.tasks.score_contacts_task",
        }

    def ready(self) -> None:
        extensions.page_urls.register(
            extensions.PageUrls(
                prefix="ai/prediction",
                urlconf="ai_features.capabilities.prediction.urls",
                namespace="prediction",
            )
        )
        extensions.nav_items.register(
            extensions.NavItem(
                key="prediction",
                label="Churn models",
                url_name="prediction:model-list",
                visible=_nav_visible,
                order=40,
            )
        )
        extensions.api_field_providers.register(
            extensions.ApiFieldProvider(
                key="prediction",
                model_label="crmcore.Contact",
                provide=_provide_contact_fields,
                schema={
                    "churn_risk": "Predicted churn probability (0-1), when prediction is on.",
                    "churn_band": "low, medium or high churn risk.",
                },
            )
        )
