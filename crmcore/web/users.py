"""Admins invite users from the app; the invited user sets their own password.

The invitation is an email (through ``crmcore.outbound``; the console backend
prints it in development) holding a one-time link built like a password
reset link: it stops working once the password is set.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.mixins import LoginRequiredMixin
from django.contrib.auth.tokens import default_token_generator
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponseRedirect
from django.urls import reverse, reverse_lazy
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from django.views.generic import FormView

from crmcore import outbound, selectors, services
from crmcore.web.forms import UserInviteForm
from crmcore.workspaces import production_workspace

INVITE_SUBJECT = "You are invited to PilotCRM"


def invitation_body(*, user, link: str, invited_by) -> str:
    name = user.first_name or user.username
    inviter = invited_by.get_full_name() or invited_by.get_username()
    return (
        f"Hello {name},\n\n"
        f"{inviter} has made you an account on PilotCRM.\n"
        f"Your username is {user.username}.\n\n"
        f"Choose your password here (the link works once):\n{link}\n\n"
        "If you did not expect this email, you can ignore it.\n"
    )


class StaffRequiredMixin(LoginRequiredMixin):
    denied_reason = "Only administrators can do this."

    def dispatch(self, request, *args, **kwargs):
        if request.user.is_authenticated and not request.user.is_staff:
            raise PermissionDenied(self.denied_reason)
        return super().dispatch(request, *args, **kwargs)


class UserInviteView(StaffRequiredMixin, FormView):
    form_class = UserInviteForm
    template_name = "crmcore/user_invite.html"
    denied_reason = "Only administrators can invite users."

    def get_form_kwargs(self):
        return {
            **super().get_form_kwargs(),
            "teams": selectors.team_list(workspace=production_workspace()),
        }

    def form_invalid(self, form):
        return self.render_to_response(self.get_context_data(form=form), status=400)

    def form_valid(self, form):
        workspace = production_workspace()
        try:
            user = services.user_invite(workspace=workspace, **form.cleaned_data)
        except ValidationError as error:
            for field, errors in error.error_dict.items():
                form.add_error(field if field in form.fields else None, errors)
            return self.form_invalid(form)
        link = self.request.build_absolute_uri(
            reverse(
                "invite-accept",
                args=[
                    urlsafe_base64_encode(force_bytes(user.pk)),
                    default_token_generator.make_token(user),
                ],
            )
        )
        outbound.email_send(
            workspace=workspace,
            to=[user.email],
            subject=INVITE_SUBJECT,
            body=invitation_body(user=user, link=link, invited_by=self.request.user),
            source="user-invite",
        )
        messages.success(
            self.request,
            f"Invitation sent to {user.email}: {user.username} chooses a password from its link.",
        )
        return HttpResponseRedirect(reverse("user-invite"))


class InviteAcceptView(auth_views.PasswordResetConfirmView):
    """The invitation link: choose a password, then straight in."""

    template_name = "registration/set_password.html"
    success_url = reverse_lazy("dashboard")
    post_reset_login = True
    post_reset_login_backend = "django.contrib.auth.backends.ModelBackend"
    reset_url_token = "set-password"

    def form_valid(self, form):
        response = super().form_valid(form)
        messages.success(self.request, f"Welcome to PilotCRM, {form.user.get_username()}.")
        return response
