from ai_features.capabilities.personalization.panels import render_reply_panel
from ai_features.declarations import Outcome, plan_declarations
from ai_features.registry import Capability
from ai_features.scheduling import Job, Schedule
from ai_features.surfaces import Audience
from crmcore import extensions

PLAN_JOB, PLAN_SCHEDULE = plan_declarations("personalization")


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
    # The campaign builder is there for every signed-in user: a plain mail
    # merge where the capability is off, personalized where it is on.
    nav_audience = {"campaign-builder": Audience.SIGNED_IN}

    def panels(self) -> list[extensions.ContactPanel]:
        return [
            extensions.ContactPanel(
                key="personalization",
                title="Suggested reply",
                render=render_reply_panel,
                order=40,
            )
        ]

    def pages(self) -> list[extensions.PageUrls]:
        return [
            extensions.PageUrls(
                prefix="campaigns/builder",
                urlconf="ai_features.capabilities.personalization.urls",
                namespace="personalization",
            )
        ]

    def nav_items(self) -> list[extensions.NavItem]:
        return [
            # The one Campaigns link of the header leads here (list, builder,
            # messages and results of a campaign in one place).
            extensions.NavItem(
                key="campaign-builder",
                label="Campaigns",
                url_name="personalization:campaign-list",
                order=45,
                replaces="campaigns",
            )
        ]

    def api_routes(self) -> list[extensions.ApiRoute]:
        return [
            extensions.ApiRoute(
                prefix="ai/personalization",
                urlpatterns="ai_features.capabilities.personalization.api",
            )
        ]

    def outcomes(self) -> list[Outcome]:
        rows = "ai_features.capabilities.personalization.outcomes."
        return [
            Outcome(
                "replies",
                "Campaign reply rate",
                rows + "replies",
                who="campaign authors",
                events="campaign messages",
            ),
            Outcome(
                "unsubscribes",
                "Unsubscribe rate",
                rows + "unsubscribes",
                higher_is_better=False,
                who="campaign authors",
                events="campaign messages",
            ),
        ]

    def jobs(self) -> list[Job]:
        return [
            Job(
                "build_campaign",
                "ai_features.capabilities.personalization.tasks.build_campaign_task",
                gated=False,
            ),
            Job(
                "send_campaign",
                "ai_features.capabilities.personalization.tasks.send_campaign_task",
                gated=False,
            ),
            PLAN_JOB,
            Job(
                "record_campaign_results",
                "ai_features.capabilities.personalization.tasks.record_campaign_results_task",
            ),
        ]

    def schedules(self) -> list[Schedule]:
        return [
            PLAN_SCHEDULE,
            Schedule(
                "campaign results",
                job="record_campaign_results",
                cron="15 3 * * *",
                description="Count campaign replies and unsubscribes in the pilot metrics.",
            ),
        ]
