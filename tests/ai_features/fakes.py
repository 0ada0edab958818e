"""A project's own capability, added through AI_FEATURES_EXTRA_CAPABILITIES in tests."""

from __future__ import annotations

from django.utils.html import format_html
from rest_framework.response import Response
from rest_framework.views import APIView

from ai_features.permissions import CapabilityPermission
from ai_features.registry import Capability
from crmcore.extensions import ContactPanel

FAKE_KEY = "fake_probe"
FAKE_PATH = "tests.ai_features.fakes.FakeProbeCapability"


def render_fake_panel(request, contact) -> str:
    return format_html('<p class="fake-probe">Probe for {}</p>', contact.full_name)


class FakeProbeCapability(Capability):
    key = FAKE_KEY
    title = "Fake probe"
    description = "A capability defined by the project itself, with one of each surface."
    lesson = "fake-probe-basics"
    events = {"contact.fake_probed": "A fake probe looked at a contact."}

    def panels(self) -> list[ContactPanel]:
        return [ContactPanel(key="fake_probe_panel", title="Fake probe", render=render_fake_panel)]

    def jobs(self) -> dict[str, str]:
        return {"record": "ai_features.record_suggestion_events"}


class CapabilityProbeApi(APIView):
    """The API surface of a capability: CapabilityPermission, nothing else."""

    permission_classes = [CapabilityPermission]
    capability = ""

    def get(self, request):
        return Response({"capability": self.capability, "ok": True})
