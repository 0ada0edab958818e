"""The CRM's HTML pages. Thin: each reads through ``crmcore.selectors``.

Every page needs a login and reads the active workspace (``request.workspace``);
an object of another workspace answers 404.
"""

from __future__ import annotations

from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.paginator import Paginator
from django.http import Http404, StreamingHttpResponse
from django.utils.html import format_html
from django.utils.safestring import mark_safe
from django.views import View
from django.views.generic import TemplateView

from crmcore import extensions, selectors
from crmcore.integrations import exports
from crmcore.models import Contact, Deal
from crmcore.web.conf import web_settings
from crmcore.web.forms import ContactFilterForm, InteractionForm
from crmcore.web.paging import window_page
from crmcore.web.saved_filters import list_query

CONTACTS_PER_PAGE = 50
CAMPAIGNS_PER_PAGE = 50
BULK_EXPORT_MAX = 500


def _page_number(request) -> int:
    try:
        return int(request.GET.get("page", 1))
    except (TypeError, ValueError):
        return 1


class DashboardView(LoginRequiredMixin, TemplateView):
    template_name = "crmcore/dashboard.html"

    def get_context_data(self, **kwargs):
        workspace = self.request.workspace
        # Counts a few seconds old (CRMCORE_DASHBOARD_CACHE_SECONDS); the recent interactions live.
        summary = selectors.dashboard_summary_cached(
            workspace=workspace, seconds=web_settings.DASHBOARD_CACHE_SECONDS
        )
        stage_labels = dict(Deal.Stage.choices)
        return super().get_context_data(
            summary=summary,
            contact_stages=[
                (label, summary.contacts_by_stage[value]) for value, label in Contact.Stage.choices
            ],
            open_deal_bars=[
                {
                    "label": stage_labels[stage],
                    "value": row["total"],
                    "note": f"{row['count']} deal{'s' if row['count'] != 1 else ''}",
                }
                for stage, row in summary.open_deals_by_stage.items()
            ],
            recent_interactions=selectors.interaction_recent(workspace=workspace, limit=10),
            my_tasks=selectors.tasks_open_for(workspace=workspace, user=self.request.user),
            **kwargs,
        )


def _filtered_contacts(request, form: ContactFilterForm, columns: list) -> tuple:
    """The contacts the list's filters select (the form's and the app columns'),
    and the column filters applied."""
    contacts = selectors.contact_list(workspace=request.workspace, **form.filters())
    return extensions.contact_columns_filter(request, columns, contacts, request.GET)


def _contact_filter_form(request) -> ContactFilterForm:
    workspace = request.workspace
    return ContactFilterForm(
        request.GET or None,
        teams=list(selectors.team_list(workspace=workspace)),
        owners=list(selectors.contact_owner_list(workspace=workspace)),
    )


class ContactListView(LoginRequiredMixin, TemplateView):
    template_name = "crmcore/contact_list.html"

    def get_context_data(self, **kwargs):
        request = self.request
        workspace = request.workspace
        form = _contact_filter_form(request)
        extra = extensions.contact_columns_for(request)
        contacts, applied = _filtered_contacts(request, form, extra)
        raw_sort = request.GET.get("sort") or ""
        sort = selectors.contact_sort(raw_sort)
        if sort is not None:
            contacts = contacts.order_by(*sort[1])
        else:
            by_column = {c.key: c for c in extra if c.sort is not None}
            column = by_column.get(raw_sort.removeprefix("-"))
            if column is not None:
                contacts = column.sort(request, contacts, raw_sort.startswith("-"))
                sort = (raw_sort, ())
        page = window_page(contacts, number=request.GET.get("page"), per_page=CONTACTS_PER_PAGE)
        extensions.contact_cells_for(request, extra, page.object_list)
        user = request.user
        return super().get_context_data(
            form=form,
            page=page,
            sort=sort[0] if sort else "",
            columns=[
                # key, label, the sort a click asks for (the other way round when
                # sorted; "" when the column cannot be sorted)
                (key, label, f"-{key}" if sort and sort[0] == key else key)
                for key, label in [
                    ("name", "Name"),
                    ("company", "Company"),
                    ("email", "Email"),
                    ("stage", "Stage"),
                    ("team", "Team"),
                    ("owner", "Owner"),
                ]
            ]
            + [
                (
                    c.key,
                    c.label,
                    "" if c.sort is None else f"-{c.key}" if sort and sort[0] == c.key else c.key,
                )
                for c in extra
            ],
            extra_columns=extra,
            column_filters=[
                (c, applied.get(c.key, "")) for c in extra if c.filter and c.filter_choices
            ],
            saved_filters=[
                ("My contacts", f"?owner={user.pk}"),
                ("My customers", f"?owner={user.pk}&stage=customer"),
                ("My leads", f"?owner={user.pk}&stage=lead"),
                ("Churned customers", "?stage=churned"),
                *(saved for c in extra for saved in c.saved_filters),
            ],
            my_filters=selectors.saved_filter_list(workspace=workspace, owner=user),
            open_campaigns=selectors.campaigns_open_for_contacts(workspace=workspace),
            current_query=list_query(request, request.GET),
            teams=form.fields["team"].choices[1:],
            owners=[
                (u.pk, u.get_full_name() or u.get_username())
                for u in selectors.workspace_user_list(workspace=workspace, include_ids=(user.pk,))
            ],
            **kwargs,
        )


class ContactExportView(LoginRequiredMixin, View):
    """The contact list's current filter (or the selected ``ids``), streamed as CSV."""

    def get(self, request):
        workspace = request.workspace
        form = _contact_filter_form(request)
        contacts, _ = _filtered_contacts(request, form, extensions.contact_columns_for(request))
        ids = [int(v) for v in request.GET.getlist("ids") if v.isdigit()][:BULK_EXPORT_MAX]
        if request.GET.getlist("ids"):
            contacts = contacts.filter(pk__in=ids)
        response = StreamingHttpResponse(
            exports.contacts_csv(request=request, workspace=workspace, contacts=contacts),
            content_type="text/csv; charset=utf-8",
        )
        response["Content-Disposition"] = 'attachment; filename="contacts.csv"'
        return response


class ContactDetailView(LoginRequiredMixin, TemplateView):
    template_name = "crmcore/contact_detail.html"

    def get_context_data(self, **kwargs):
        contact = contact_or_404(self.request, kwargs["pk"])
        return super().get_context_data(
            **contact_detail_context(self.request, contact, InteractionForm()), **kwargs
        )


def contact_or_404(request, pk: int) -> Contact:
    contact = selectors.contact_get(workspace=request.workspace, pk=pk)
    if contact is None:
        raise Http404("No such contact")
    return contact


def contact_detail_context(request, contact: Contact, interaction_form: InteractionForm) -> dict:
    """What the contact page shows: profile, timeline, panels and the log form."""
    timeline = selectors.contact_timeline(
        workspace=request.workspace, contact=contact, page=_page_number(request)
    )
    panels = extensions.rendered_panels(extensions.contact_panels, request, contact)
    return {
        "contact": contact,
        "attributes": sorted((contact.attributes or {}).items()),
        "timeline": timeline,
        "panels": panels,
        "interaction_form": interaction_form,
    }


class AccountDetailView(LoginRequiredMixin, TemplateView):
    template_name = "crmcore/account_detail.html"

    def get_context_data(self, **kwargs):
        workspace = self.request.workspace
        account = selectors.account_get(workspace=workspace, pk=kwargs["pk"])
        if account is None:
            raise Http404("No such account")
        return super().get_context_data(
            account=account,
            contacts=list(selectors.account_contacts(workspace=workspace, account=account)),
            deals=list(selectors.account_deals(workspace=workspace, account=account)),
            **kwargs,
        )


class DealPipelineView(LoginRequiredMixin, TemplateView):
    template_name = "crmcore/deal_pipeline.html"

    def get_context_data(self, **kwargs):
        # "My deals": ?mine=1 keeps the deals the user owns (totals included).
        mine = self.request.GET.get("mine") == "1"
        columns = selectors.deal_pipeline(
            workspace=self.request.workspace, owner_id=self.request.user.pk if mine else None
        )
        # Each card's stage menu: six variants built once, not a template loop per card.
        options = stage_options_html()
        for column in columns:
            for deal in column.deals:
                deal.stage_options = options[deal.stage]
        extensions.deal_badges_for(self.request, [d for column in columns for d in column.deals])
        return super().get_context_data(
            columns=columns,
            mine=mine,
            per_stage=selectors.PIPELINE_DEALS_PER_STAGE,
            stage_choices=Deal.Stage.choices,
            **kwargs,
        )


def stage_options_html() -> dict[str, str]:
    """``{stage: "<option ...>..."}``: the deal stage menu with that stage selected."""
    return {
        current: mark_safe(
            "".join(
                format_html(
                    '<option value="{}"{}>{}</option>',
                    value,
                    mark_safe(" selected") if value == current else "",
                    label,
                )
                for value, label in Deal.Stage.choices
            )
        )
        for current in Deal.Stage.values
    }


class CampaignListView(LoginRequiredMixin, TemplateView):
    template_name = "crmcore/campaign_list.html"

    def get_context_data(self, **kwargs):
        campaigns = selectors.campaign_list(workspace=self.request.workspace)
        page = Paginator(campaigns, CAMPAIGNS_PER_PAGE).get_page(self.request.GET.get("page"))
        return super().get_context_data(page=page, **kwargs)
