"""manage.py build_campaign <campaign id> [--user NAME] [--send]: build (and send) a campaign."""

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from ai_features.capabilities.personalization.services import CampaignError
from ai_features.capabilities.personalization.tasks import build_campaign
from crmcore.models import Campaign


class Command(BaseCommand):
    help = (
        "Build the message of every contact in a campaign's audience, in chunks. Personalized "
        "where the capability is on for the user (default: the campaign's creator), a plain "
        "mail merge where it is off."
    )

    def add_arguments(self, parser):
        parser.add_argument("campaign", type=int, help="Campaign id.")
        parser.add_argument("--user", help="Username the build runs for (default: the creator).")
        parser.add_argument("--no-progress", action="store_true", help="No progress bar.")

    def handle(self, *args, campaign: int, user=None, no_progress=False, **options):
        found = (
            Campaign.objects.select_related("workspace", "created_by").filter(pk=campaign).first()
        )
        if found is None:
            raise CommandError(f"No campaign with id {campaign}.")
        if user:
            runner = get_user_model().objects.filter(username=user).first()
            if runner is None:
                raise CommandError(f"No user {user!r}.")
        else:
            runner = found.created_by
        with tqdm(
            desc=f"Building {found.name}", unit="message", disable=no_progress, file=self.stderr
        ) as bar:
            try:
                summary = build_campaign(campaign=found, user=runner, progress=bar)
            except CampaignError as exc:
                raise CommandError(str(exc)) from None
        kind = "personalized" if summary["personalized"] else "plain mail merge"
        self.stdout.write(
            f"Campaign {found.pk} ({found.name}): built {summary['built']} of {summary['total']} "
            f"messages ({kind}), kept {summary['kept']} edited or sent, "
            f"removed {summary['removed']}."
        )
