"""Accounts and access: sign-in, two-factor, password reset, the account page, members, tokens, audit."""

from django.contrib.auth import views as auth_views
from django.urls import path

from ..views import accounts_audit, accounts_auth, accounts_members, accounts_tokens, accounts_twofactor

urlpatterns = [
    path("accounts/login/", accounts_auth.SignInView.as_view(), name="login"),
    path("accounts/login/code/", accounts_auth.sign_in_code, name="login-2fa"),
    path("accounts/logout/", accounts_auth.SignOutView.as_view(), name="logout"),
    path("accounts/password/reset/", accounts_auth.ResetView.as_view(), name="password_reset"),
    path(
        "accounts/password/reset/sent/",
        auth_views.PasswordResetDoneView.as_view(template_name="registration/password_reset_done.html"),
        name="password_reset_done",
    ),
    path(
        "accounts/password/reset/<uidb64>/<token>/",
        accounts_auth.ResetConfirmView.as_view(),
        name="password_reset_confirm",
    ),
    path(
        "accounts/password/reset/done/",
        auth_views.PasswordResetCompleteView.as_view(
            template_name="registration/password_reset_complete.html"
        ),
        name="password_reset_complete",
    ),
    path("accounts/", accounts_auth.account, name="account"),
    path("accounts/profile", accounts_auth.account_profile, name="account-profile"),
    path("accounts/password", accounts_auth.account_password, name="account-password"),
    path("accounts/2fa/setup", accounts_twofactor.setup, name="account-2fa-setup"),
    path("accounts/2fa/cancel", accounts_twofactor.cancel, name="account-2fa-cancel"),
    path("accounts/2fa/confirm", accounts_twofactor.confirm, name="account-2fa-confirm"),
    path("accounts/2fa/recovery", accounts_twofactor.recovery, name="account-2fa-recovery"),
    path("accounts/2fa/disable", accounts_twofactor.disable, name="account-2fa-disable"),
    path("invite/<str:token>/", accounts_members.accept, name="invite-accept"),
    path("o/<slug:org_slug>/members/", accounts_members.members, name="members"),
    path("o/<slug:org_slug>/members/invite", accounts_members.invite, name="members-invite"),
    path("o/<slug:org_slug>/members/<int:pk>/role", accounts_members.change_role, name="member-role"),
    path("o/<slug:org_slug>/members/<int:pk>/remove", accounts_members.remove, name="member-remove"),
    path(
        "o/<slug:org_slug>/members/invitations/<int:pk>/revoke",
        accounts_members.revoke_invitation,
        name="invitation-revoke",
    ),
    path("o/<slug:org_slug>/tokens/", accounts_tokens.tokens, name="tokens"),
    path("o/<slug:org_slug>/tokens/<int:pk>/revoke", accounts_tokens.revoke, name="token-revoke"),
    path("o/<slug:org_slug>/audit/", accounts_audit.audit_log, name="audit"),
]
