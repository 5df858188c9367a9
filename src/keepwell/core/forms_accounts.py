"""Forms for signing in, the account page, invitations, members and API tokens."""

from django import forms
from django.contrib.auth import password_validation
from django.contrib.auth.forms import AuthenticationForm, PasswordResetForm
from django.core.exceptions import ValidationError

from .models import Role, User
from .models.tenancy import ROLE_RANK
from .throttle import Throttle, Throttled, client_ip

# Failed sign-ins and failed two-factor codes are counted apart, each per email and per address.
LOGIN_THROTTLE = Throttle("login")
CODE_THROTTLE = Throttle("totp")
# Password-reset mails per email and per address: stops anyone from flooding a mailbox through us.
RESET_THROTTLE = Throttle("reset")


class SignInForm(AuthenticationForm):
    """Sign in by email and password; refuses without checking the password while throttled."""

    username = forms.EmailField(
        label="Email", widget=forms.EmailInput(attrs={"autofocus": True, "autocomplete": "email"})
    )
    error_messages = {
        "invalid_login": "The email or the password is not right. Check both, or reset your password.",
        "inactive": "This account is switched off. Ask an administrator of your organization.",
    }

    def clean_username(self):
        return self.cleaned_data["username"].strip().lower()

    def clean(self):
        email = self.cleaned_data.get("username")
        if not email or not self.cleaned_data.get("password"):
            return self.cleaned_data
        ip = client_ip(self.request)
        try:
            LOGIN_THROTTLE.check(email, ip)
        except Throttled as exc:
            raise ValidationError(exc.message, code="throttled") from None
        try:
            return super().clean()
        except ValidationError:
            LOGIN_THROTTLE.fail(email, ip)
            raise


class CodeForm(forms.Form):
    """A TOTP or recovery code; `auto_id` keeps ids apart when several code forms share a page."""

    code = forms.CharField(
        label="Code",
        max_length=32,
        widget=forms.TextInput(
            attrs={"autofocus": True, "autocomplete": "one-time-code", "inputmode": "numeric", "size": 12}
        ),
        help_text="The 6-digit code from your authenticator app, or one of your recovery codes.",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if kwargs.get("auto_id"):  # one of several forms on the account page: none grabs the focus
            self.fields["code"].widget.attrs.pop("autofocus", None)


class SetupCodeForm(CodeForm):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["code"].help_text = "The 6-digit code your authenticator app shows now."


class DisableTwoFactorForm(CodeForm):
    password = forms.CharField(
        label="Your password", widget=forms.PasswordInput(attrs={"autocomplete": "current-password"})
    )

    def __init__(self, user, *args, **kwargs):
        self.user = user
        super().__init__(*args, **kwargs)

    def clean_password(self):
        if not self.user.check_password(self.cleaned_data["password"]):
            raise ValidationError("That is not your password.")
        return self.cleaned_data["password"]


class ProfileForm(forms.ModelForm):
    class Meta:
        model = User
        fields = ["name"]
        help_texts = {"name": "Shown to the people you work with instead of your email address."}


class ThrottledPasswordResetForm(PasswordResetForm):
    """Django's reset form, sending at most a few mails per email and address in the throttle window."""

    def __init__(self, *args, request=None, **kwargs):
        self.request = request
        super().__init__(*args, **kwargs)

    def get_users(self, email):
        keys = (email.strip().lower(), client_ip(self.request))
        if RESET_THROTTLE.wait(*keys):
            return []  # silently: the page must not reveal whether the address has an account
        RESET_THROTTLE.fail(*keys)
        return super().get_users(email)


def role_choices(for_role: str):
    """Return the roles a member with `for_role` may hand out: owners any, others up to their own."""
    rank = ROLE_RANK[Role(for_role)]
    return [(r.value, r.label) for r in Role if ROLE_RANK[r] <= rank]


class InviteForm(forms.Form):
    email = forms.EmailField(label="Email")
    role = forms.ChoiceField(label="Role", choices=Role.choices, initial=Role.MEMBER)

    def __init__(self, *args, inviter_role=Role.OWNER, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["role"].choices = role_choices(inviter_role)

    def clean_email(self):
        return self.cleaned_data["email"].strip().lower()


class RoleForm(forms.Form):
    role = forms.ChoiceField(label="Role", choices=Role.choices)


class NewAccountForm(forms.Form):
    """The name and password of someone who joins through an invitation and has no account yet."""

    name = forms.CharField(label="Your name", max_length=150)
    password = forms.CharField(
        label="Password", widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}), strip=False
    )
    password_again = forms.CharField(
        label="Password, again",
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        strip=False,
    )

    def __init__(self, *args, email, **kwargs):
        self.email = email
        super().__init__(*args, **kwargs)
        self.fields["password"].help_text = password_validation.password_validators_help_text_html()

    def clean(self):
        data = super().clean()
        password, again = data.get("password"), data.get("password_again")
        if password and again and password != again:
            self.add_error("password_again", "The two passwords differ. Type the same password twice.")
        elif password:
            try:
                password_validation.validate_password(
                    password, User(email=self.email, name=data.get("name", ""))
                )
            except ValidationError as exc:
                self.add_error("password", exc)
        return data


class TokenForm(forms.Form):
    name = forms.CharField(label="Name", max_length=100, help_text="What uses it, e.g. “CI deploy job”.")
    scope = forms.ChoiceField(
        label="Scope",
        choices=[("read", "Read: look, never change"), ("write", "Read-write")],
        initial="read",
        widget=forms.RadioSelect,
    )

    def __init__(self, *args, may_write=True, **kwargs):
        self.may_write = may_write
        super().__init__(*args, **kwargs)

    def clean_scope(self):
        scope = self.cleaned_data["scope"]
        if scope == "write" and not self.may_write:
            raise ValidationError("Viewers may create read tokens only. Ask an admin for a higher role.")
        return scope
