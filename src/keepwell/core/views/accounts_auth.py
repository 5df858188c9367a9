"""Signing in (with the optional two-factor step), signing out, password reset and the account page."""

import time

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login as auth_login
from django.contrib.auth import update_session_auth_hash
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import PasswordChangeForm
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods, require_POST

from .. import audit, twofactor
from ..forms_accounts import (
    CODE_THROTTLE,
    LOGIN_THROTTLE,
    CodeForm,
    DisableTwoFactorForm,
    ProfileForm,
    SetupCodeForm,
    SignInForm,
    ThrottledPasswordResetForm,
)
from ..models import User
from ..throttle import Throttled, client_ip

# Between the password and the code, the session holds who is signing in (not signed in yet) for a while.
PENDING = "keepwell_2fa_pending"
PENDING_SECONDS = 300


class SignInView(auth_views.LoginView):
    form_class = SignInForm
    template_name = "registration/login.html"

    def dispatch(self, request, *args, **kwargs):
        # Someone already signed in goes on, unless "next" points back here (Django would raise on the loop).
        if request.user.is_authenticated and request.method == "GET":
            target = self.get_success_url()
            if target != request.path:
                return redirect(target)
        return super().dispatch(request, *args, **kwargs)

    def form_valid(self, form):
        user = form.get_user()
        if user.totp_enabled:
            self.request.session[PENDING] = {
                "user": user.pk,
                "backend": user.backend,
                "at": time.time(),
                "next": self.get_success_url(),
            }
            return redirect("login-2fa")
        LOGIN_THROTTLE.reset(user.email)
        return super().form_valid(form)


@never_cache
@csrf_protect
@sensitive_post_parameters()
@require_http_methods(["GET", "POST"])
def sign_in_code(request):
    """Ask for the two-factor code of someone whose password was right; sign them in when it checks."""
    pending = request.session.get(PENDING)
    user = None
    if pending and time.time() - pending["at"] <= PENDING_SECONDS:
        user = User.objects.filter(pk=pending["user"], is_active=True, totp_enabled=True).first()
    if user is None:
        request.session.pop(PENDING, None)
        if pending:
            messages.error(request, "The sign-in took too long. Enter your email and password again.")
        return redirect("login")
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        keys = (user.email, client_ip(request))
        try:
            CODE_THROTTLE.check(*keys)
        except Throttled as exc:
            form.add_error(None, exc.message)
        else:
            if twofactor.check(user, form.cleaned_data["code"]):
                del request.session[PENDING]
                CODE_THROTTLE.reset(user.email)
                LOGIN_THROTTLE.reset(user.email)
                auth_login(request, user, backend=pending["backend"])
                return redirect(pending["next"])
            CODE_THROTTLE.fail(*keys)
            audit.record(
                "login_failed",
                user,
                ip=client_ip(request),
                label=user.email,
                changes={"email": user.email, "reason": "wrong two-factor code"},
            )
            form.add_error("code", "That code is not right, or it was used already. Enter the newest code.")
    return render(request, "registration/login_code.html", {"form": form, "email": user.email})


class SignOutView(auth_views.LogoutView):
    next_page = "login"


class ResetView(auth_views.PasswordResetView):
    form_class = ThrottledPasswordResetForm
    template_name = "registration/password_reset_form.html"
    email_template_name = "registration/password_reset_email.txt"
    subject_template_name = "registration/password_reset_subject.txt"

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "request": self.request}

    @property
    def extra_email_context(self):
        # Links in mail use the configured address, never the Host header of whoever asked.
        return {"base_url": settings.BASE_URL, "site_name": settings.SITE_NAME}


class ResetConfirmView(auth_views.PasswordResetConfirmView):
    template_name = "registration/password_reset_confirm.html"

    def form_valid(self, form):
        response = super().form_valid(form)
        audit.record("reset_password", form.user, actor=form.user, ip=client_ip(self.request))
        LOGIN_THROTTLE.reset(form.user.email)
        return response


def account_page(request, status=200, **forms):
    """Render the account page with fresh forms, except those given (bound, with errors)."""
    user = request.user
    context = {
        "profile_form": ProfileForm(instance=user),
        "password_form": PasswordChangeForm(user),
        "confirm_form": SetupCodeForm(auto_id="setup_%s"),
        "disable_form": DisableTwoFactorForm(user, auto_id="disable_%s"),
        "recovery_form": CodeForm(auto_id="recovery_%s"),
        "recovery_codes_left": twofactor.recovery_codes_left(user) if user.totp_enabled else 0,
    }
    if user.totp_secret and not user.totp_enabled:
        context["qr"] = twofactor.qr_data_uri(user)
        context["secret"] = user.totp_secret
    context.update(forms)
    return render(request, "core/accounts/account.html", context, status=status)


@never_cache
@login_required
def account(request):
    return account_page(request)


@login_required
@require_POST
def account_profile(request):
    form = ProfileForm(request.POST, instance=request.user)
    if not form.is_valid():
        return account_page(request, status=400, profile_form=form)
    form.save()
    messages.success(request, "Your profile is saved.")
    return redirect("account")


@login_required
@require_POST
@sensitive_post_parameters()
def account_password(request):
    form = PasswordChangeForm(request.user, request.POST)
    if not form.is_valid():
        return account_page(request, status=400, password_form=form)
    form.save()
    update_session_auth_hash(request, form.user)  # keep this session; others end with the old password
    audit.record("change_password", request.user)
    messages.success(request, "Your password is changed. Other sessions are signed out.")
    return redirect("account")
