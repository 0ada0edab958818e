"""A project's own capability, added through AI_FEATURES_EXTRA_CAPABILITIES in tests.

It contributes one of every kind of surface through the kit, and none of its
views asks the gate itself: the registry must put the gate in front of each.
"""

from __future__ import annotations

from django.http import HttpResponse
from django.urls import path
from django.utils.html import format_html
from django.views import View
from rest_framework.response import Response
from rest_framework.views import APIView

from ai_features.permissions import CapabilityPermission
from ai_features.registry import Capability
from ai_features.scheduling import Job, Schedule, capability_task
from ai_features.surfaces import Audience
from crmcore import extensions

FAKE_KEY = "fake_probe"
FAKE_PATH = "tests.ai_features.fakes.FakeProbeCapability"


def render_fake_panel(request, contact) -> str:
    return format_html('<p class="fake-probe">Probe for {}</p>', contact.full_name)


def fake_page(request):
    """A plain function view with no gate of its own."""
    return HttpResponse("fake probe page")


class FakeGovernanceView(View):
    """A governance page: staff read it whatever their pilot membership."""

    capability_audience = Audience.GOVERNANCE

    def get(self, request):
        return HttpResponse("fake probe model card")


class FakeProbeApi(APIView):
    """An API view with no capability permission of its own."""

    def get(self, request):
        return Response({"probed": True})


urlpatterns = [
    path("", fake_page, name="page"),
    path("governance/", FakeGovernanceView.as_view(), name="governance"),
]
api_urlpatterns = [path("", FakeProbeApi.as_view(), name="fake-probe-api")]


class FakeApiUrls:
    urlpatterns = api_urlpatterns


def provide_fake_fields(request, objects) -> dict[int, dict]:
    return {obj.pk: {"fake_probe": f"probed {obj.pk}"} for obj in objects}


def provide_fake_cells(request, contacts) -> dict[int, extensions.ListCell]:
    return {c.pk: extensions.ListCell(text=f"probe {c.pk}") for c in contacts}


def filter_fake(request, contacts, value: str):
    """ "odd" or "even" ids: no gate of its own."""
    remainder = 1 if value == "odd" else 0
    return contacts.filter(
        pk__in=[pk for pk in contacts.values_list("pk", flat=True) if pk % 2 == remainder]
    )


@capability_task(FAKE_KEY, "probe")
def probe_task(*, workspace, note: str = "") -> dict:
    return {"note": note, "kind": workspace.kind}


class FakeProbeCapability(Capability):
    key = FAKE_KEY
    title = "Fake probe"
    description = "A capability defined by the project itself, with one of each surface."
    lesson = "fake-probe-basics"
    events = {"contact.fake_probed": "A fake probe looked at a contact."}

    def panels(self) -> list[extensions.ContactPanel]:
        return [
            extensions.ContactPanel(
                key="fake_probe_panel", title="Fake probe", render=render_fake_panel
            )
        ]

    def contact_columns(self) -> list[extensions.ContactColumn]:
        return [
            extensions.ContactColumn(
                key="fake_probe",
                label="Fake probe",
                provide=provide_fake_cells,
                filter_choices=(("odd", "Odd"), ("even", "Even")),
                filter=filter_fake,
                saved_filters=(("Odd probes", "?fake_probe=odd"),),
            )
        ]

    def pages(self) -> list[extensions.PageUrls]:
        return [
            extensions.PageUrls(
                prefix="fake-probe", urlconf="tests.ai_features.fakes", namespace="fake_probe"
            )
        ]

    def nav_items(self) -> list[extensions.NavItem]:
        return [
            extensions.NavItem(key="fake-probe", label="Fake probe", url_name="fake_probe:page")
        ]

    def api_routes(self) -> list[extensions.ApiRoute]:
        return [
            extensions.ApiRoute(
                prefix="fake-probe", urlpatterns="tests.ai_features.fakes.FakeApiUrls"
            )
        ]

    def api_fields(self) -> list[extensions.ApiFieldProvider]:
        return [
            extensions.ApiFieldProvider(
                key="fake_probe",
                model_label="crmcore.Contact",
                provide=provide_fake_fields,
                schema={"fake_probe": "What the fake probe found."},
            )
        ]

    def jobs(self) -> list[Job]:
        return [Job("probe", "tests.ai_features.fakes.probe_task")]

    def schedules(self) -> list[Schedule]:
        return [Schedule("hourly probe", job="probe", cron="0 * * * *", kwargs={"note": "hourly"})]


class CapabilityProbeApi(APIView):
    """The API surface of a capability: CapabilityPermission, nothing else."""

    permission_classes = [CapabilityPermission]
    capability = ""

    def get(self, request):
        return Response({"capability": self.capability, "ok": True})
