from ai_features.registry import Capability
from crmcore import extensions


def _signed_in(request) -> bool:
    return bool(request.user.is_authenticated)


class PersonalizationCapability(Capability):
    key = "personalization"
    title = "Personalization"
    description = "Tailors campaigns and replies to each customer's own history."
    lesson = "personalization-basics"
    events = {
        "campaign.message_sent": (
            "A campaign message went to a contact (from a sandbox: recorded, not sent). "
            "Payload: campaign_id, message_id, contact_id, interaction_id, to, subject, "
            "personalized, facts, sent_at."
        ),
    }

    def panels(self) -> list[extensions.ContactPanel]:
        from ai_features.capabilities.personalization.panels import render_reply_panel

        return [
            extensions.ContactPanel(
                key="personalization",
                title="Suggested reply",
                render=render_reply_panel,
                order=40,
            )
        ]

    def api_routes(self) -> list[extensions.ApiRoute]:
        return [
            extensions.ApiRoute(
                prefix="ai/personalization",
                urlpatterns="ai_features.capabilities.personalization.api",
            )
        ]

    def jobs(self) -> dict[str, str]:
        return {
            "build_campaign": "ai_features.capabilities.personalization.tasks.build_campaign_task",
            "send_campaign": "ai_features.capabilities.personalization.tasks.send_campaign_task",
        }

    def ready(self) -> None:
        # The campaign builder is there for every signed-in user: a plain mail
        # merge where the capability is off, personalized where it is on.
        extensions.page_urls.register(
            extensions.PageUrls(
                prefix="campaigns/builder",
                urlconf="ai_features.capabilities.personalization.urls",
                namespace="personalization",
            )
        )
        extensions.nav_items.register(
            extensions.NavItem(
                key="campaign-builder",
                label="Campaign builder",
                url_name="personalization:campaign-list",
                visible=_signed_in,
                order=45,
            )
        )
