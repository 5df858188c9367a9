"""Two-factor sign-in on the account page: set up with a scanned code, recovery codes, turn off."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_POST

from .. import audit, twofactor
from ..forms_accounts import CODE_THROTTLE, CodeForm, DisableTwoFactorForm, SetupCodeForm
from ..throttle import Throttled, client_ip
from .accounts_auth import account_page


def _show_codes(request, codes):
    return render(request, "core/accounts/recovery_codes.html", {"codes": codes})


def _code_checks(request, form) -> bool:
    """Return True when the form's code is right; counts failures and refuses while throttled."""
    keys = (request.user.email, client_ip(request))
    try:
        CODE_THROTTLE.check(*keys)
    except Throttled as exc:
        form.add_error(None, exc.message)
        return False
    if twofactor.check(request.user, form.cleaned_data["code"]):
        CODE_THROTTLE.reset(request.user.email)
        return True
    CODE_THROTTLE.fail(*keys)
    form.add_error("code", "That code is not right, or it was used already. Enter the newest code.")
    return False


@login_required
@require_POST
def setup(request):
    try:
        twofactor.begin_setup(request.user)
    except twofactor.TwoFactorError as exc:
        messages.error(request, str(exc))
    return redirect("account")


@login_required
@require_POST
def cancel(request):
    if not request.user.totp_enabled:
        twofactor.disable(request.user)
    return redirect("account")


@never_cache
@login_required
@require_POST
def confirm(request):
    form = SetupCodeForm(request.POST, auto_id="setup_%s")
    if form.is_valid():
        try:
            codes = twofactor.confirm_setup(request.user, form.cleaned_data["code"])
        except twofactor.TwoFactorError as exc:
            form.add_error("code", str(exc))
        else:
            audit.record("enable_2fa", request.user)
            return _show_codes(request, codes)
    return account_page(request, status=400, confirm_form=form)


@never_cache
@login_required
@require_POST
def recovery(request):
    form = CodeForm(request.POST, auto_id="recovery_%s")
    if form.is_valid() and _code_checks(request, form):
        codes = twofactor.issue_recovery_codes(request.user)
        audit.record("new_recovery_codes", request.user)
        return _show_codes(request, codes)
    return account_page(request, status=400, recovery_form=form)


@login_required
@require_POST
@sensitive_post_parameters()
def disable(request):
    form = DisableTwoFactorForm(request.user, request.POST, auto_id="disable_%s")
    if form.is_valid() and _code_checks(request, form):
        twofactor.disable(request.user)
        audit.record("disable_2fa", request.user)
        messages.success(request, "Two-factor sign-in is off. Your password alone signs you in now.")
        return redirect("account")
    return account_page(request, status=400, disable_form=form)
