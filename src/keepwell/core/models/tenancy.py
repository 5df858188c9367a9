"""Users, organizations, memberships, invitations and services: tenancy and the unit of care."""

import hashlib
import secrets
from datetime import timedelta

from django.contrib.auth.models import AbstractUser, BaseUserManager
from django.core.validators import RegexValidator
from django.db import models
from django.utils import timezone

from ..crypto import EncryptedTextField

slug_validator = RegexValidator(
    r"^[a-z0-9](?:[a-z0-9-]{0,48}[a-z0-9])?$",
    "Use 1 to 50 lowercase letters, digits and hyphens, starting and ending with a letter or digit.",
)


class UserManager(BaseUserManager):
    use_in_migrations = True

    def create_user(self, email, password=None, **extra):
        if not email:
            raise ValueError("A user needs an email address.")
        email = self.normalize_email(email).lower()
        user = self.model(email=email, **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_superuser(self, email, password=None, **extra):
        extra.setdefault("is_staff", True)
        extra.setdefault("is_superuser", True)
        return self.create_user(email, password, **extra)


class User(AbstractUser):
    """A person who signs in with an email address."""

    username = None
    email = models.EmailField("email address", unique=True)
    name = models.CharField(max_length=150, blank=True)
    # TOTP two-factor sign-in: the secret is encrypted at rest; enabled once confirmed with a code.
    totp_secret = EncryptedTextField(blank=True, default="")
    totp_enabled = models.BooleanField(default=False)
    totp_last_step = models.BigIntegerField(default=0, help_text="Last accepted TOTP time step (no replay).")

    USERNAME_FIELD = "email"
    REQUIRED_FIELDS = []
    objects = UserManager()

    def __str__(self):
        return self.email

    @property
    def display_name(self):
        return self.name or self.email


class Role(models.TextChoices):
    OWNER = "owner", "Owner"
    ADMIN = "admin", "Admin"
    MEMBER = "member", "Member"
    VIEWER = "viewer", "Viewer"


# What each role may do. A role may do everything the roles below it may do.
ROLE_RANK = {Role.VIEWER: 0, Role.MEMBER: 1, Role.ADMIN: 2, Role.OWNER: 3}
PERMISSIONS = {
    "view": Role.VIEWER,  # read every page and API of the organization
    "act": Role.MEMBER,  # acknowledge, resolve and snooze findings; record releases; work on practices
    "manage_services": Role.MEMBER,  # create and edit services
    "manage_alerting": Role.ADMIN,  # channels, routing rules, maintenance windows
    "manage_members": Role.ADMIN,  # invite and remove members (not owners), create API tokens for others
    "view_audit": Role.ADMIN,  # the audit log
    "manage_owners": Role.OWNER,  # grant or remove the owner role, delete the organization
}


class Organization(models.Model):
    """A team: the unit of tenancy. Every piece of customer data hangs off one."""

    slug = models.SlugField(max_length=50, unique=True, validators=[slug_validator])
    name = models.CharField(max_length=200)
    created = models.DateTimeField(default=timezone.now)
    members = models.ManyToManyField(User, through="Membership", related_name="organizations")

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name

    def role_of(self, user) -> str | None:
        """Return the role `user` has here, or None."""
        if not user or not user.is_authenticated:
            return None
        m = self.memberships.filter(user=user).only("role").first()
        return m.role if m else None


class Membership(models.Model):
    organization = models.ForeignKey(Organization, models.CASCADE, related_name="memberships")
    user = models.ForeignKey(User, models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.MEMBER)
    created = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organization", "user"], name="one_membership_per_user")
        ]
        ordering = ["organization", "user__email"]

    def __str__(self):
        return f"{self.user} in {self.organization} ({self.role})"

    def can(self, permission: str) -> bool:
        """Return True when this member's role allows `permission` (a key of PERMISSIONS)."""
        return ROLE_RANK[Role(self.role)] >= ROLE_RANK[PERMISSIONS[permission]]


def _hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class Invitation(models.Model):
    """An invitation by email to join an organization with a role; accepted through a one-time link."""

    organization = models.ForeignKey(Organization, models.CASCADE, related_name="invitations")
    email = models.EmailField()
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.MEMBER)
    token_hash = models.CharField(max_length=64, unique=True)
    invited_by = models.ForeignKey(User, models.SET_NULL, null=True, related_name="+")
    created = models.DateTimeField(default=timezone.now)
    expires = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created"]

    def __str__(self):
        return f"{self.email} to {self.organization} ({self.role})"

    @classmethod
    def issue(cls, organization, email, role, invited_by, days=7):
        """Create an invitation and return (invitation, the plain token for the link)."""
        token = secrets.token_urlsafe(32)
        inv = cls.objects.create(
            organization=organization,
            email=email.lower(),
            role=role,
            token_hash=_hash_token(token),
            invited_by=invited_by,
            expires=timezone.now() + timedelta(days=days),
        )
        return inv, token

    @classmethod
    def find(cls, token: str):
        """Return the open invitation for `token`, or None."""
        return (
            cls.objects.filter(token_hash=_hash_token(token), accepted_at=None, expires__gt=timezone.now())
            .select_related("organization")
            .first()
        )


class Service(models.Model):
    """A piece of software the team keeps alive: the unit of care."""

    organization = models.ForeignKey(Organization, models.CASCADE, related_name="services")
    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=50, validators=[slug_validator])
    description = models.TextField(blank=True)
    repository = models.CharField(
        max_length=500, blank=True, help_text="A local path or a git URL of the service's repository."
    )
    environments = models.JSONField(
        default=list, blank=True, help_text='Names, e.g. ["staging", "production"].'
    )
    owners = models.ManyToManyField(User, blank=True, related_name="owned_services")
    created = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["organization", "slug"], name="service_slug_per_org")]

    def __str__(self):
        return self.name

    def get_absolute_url(self):
        from django.urls import reverse

        return reverse("service", args=[self.organization.slug, self.slug])
