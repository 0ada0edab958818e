"""The contact page panel: a suggested reply to the contact's inbound message
that waits for an answer (none when everything is answered), with the facts it
used; send it by email, save it as a draft, or dismiss it. Installed behind the
gate by the capability registry."""

from __future__ import annotations

from django.template.loader import render_to_string
from django.utils.safestring import mark_safe

from ai_features.capabilities.personalization import selectors, services
from ai_features.capabilities.personalization.facts import access_for


def render_reply_panel(request, contact) -> str | None:
    workspace = request.workspace
    inbound, is_open = selectors.open_inbound(workspace=workspace, contact_id=contact.pk)
    context = {
        "contact": contact,
        "inbound": inbound,
        "open": is_open,
        "decision": None,
        "suggestion": None,
        "draft": None,
    }
    if is_open and inbound is not None:
        decision = selectors.suggested_reply_decision(user=request.user, interaction=inbound)
        if decision is not None and decision.status == "draft":
            context["draft"] = decision
        else:
            context["decision"] = decision
        if context["decision"] is None:
            access = access_for(user=request.user, workspace=workspace)
            context["suggestion"] = selectors.suggested_reply(
                workspace=workspace, interaction=inbound, user=request.user, access=access
            )
            services.suggested_reply_shown(
                workspace=workspace, user=request.user, interaction=inbound
            )
    return mark_safe(render_to_string("personalization/panel.html", context, request=request))
