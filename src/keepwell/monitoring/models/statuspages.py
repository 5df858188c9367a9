"""Public status pages: components of monitors, incidents with timed updates."""

from django.conf import settings
from django.db import models, transaction
from django.db.models.signals import m2m_changed, post_delete, post_save
from django.utils import timezone

from keepwell.core.models import Organization
from keepwell.core.models.tenancy import slug_validator

from .heartbeats import Heartbeat
from .monitors import Monitor


class StatusPage(models.Model):
    organization = models.ForeignKey(Organization, models.CASCADE, related_name="status_pages")
    slug = models.SlugField(
        max_length=50, unique=True, validators=[slug_validator], help_text="Public at /status/<slug>/."
    )
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    published = models.BooleanField(default=True)
    created = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["title"]

    def __str__(self):
        return self.title

    def save(self, *args, **kwargs):
        # A new slug: the old address must stop answering at once, not when its cache entry expires.
        previous = (
            StatusPage.objects.filter(pk=self.pk).values_list("slug", flat=True).first() if self.pk else None
        )
        self._old_slugs = {previous} if previous and previous != self.slug else set()
        super().save(*args, **kwargs)

    @property
    def public_url(self) -> str:
        return f"{settings.BASE_URL}/status/{self.slug}/"

    def invalidate(self, gone=False) -> None:
        """Have the public page and feed rebuilt, now and again once the transaction commits.

        A page that is `gone` (deleted or hidden) and an old slug are dropped: their address answers 404 at once.
        """
        from .. import statuspage_cache

        old = set(getattr(self, "_old_slugs", ()))
        gone = gone or not self.published

        def apply():
            statuspage_cache.drop(old | ({self.slug} if gone else set()))
            if not gone:
                statuspage_cache.mark_stale([self.slug])

        apply()
        transaction.on_commit(apply)


class StatusComponent(models.Model):
    page = models.ForeignKey(StatusPage, models.CASCADE, related_name="components")
    name = models.CharField(max_length=200)
    position = models.PositiveSmallIntegerField(default=0)
    monitors = models.ManyToManyField(Monitor, blank=True, related_name="components")
    heartbeats = models.ManyToManyField(Heartbeat, blank=True, related_name="components")

    class Meta:
        ordering = ["position", "id"]

    def __str__(self):
        return self.name


class Incident(models.Model):
    class Status(models.TextChoices):
        INVESTIGATING = "investigating", "Investigating"
        IDENTIFIED = "identified", "Identified"
        MONITORING = "monitoring", "Monitoring"
        RESOLVED = "resolved", "Resolved"

    page = models.ForeignKey(StatusPage, models.CASCADE, related_name="incidents")
    title = models.CharField(max_length=200)
    status = models.CharField(max_length=15, choices=Status.choices, default=Status.INVESTIGATING)
    components = models.ManyToManyField(StatusComponent, blank=True, related_name="incidents")
    started = models.DateTimeField(default=timezone.now)
    resolved = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-started"]

    def __str__(self):
        return self.title

    @property
    def is_open(self) -> bool:
        return self.status != self.Status.RESOLVED

    def add_update(self, status: str, body: str, at=None) -> "IncidentUpdate":
        """Post a timed update; the incident takes its status (and is resolved, or re-opened, with it)."""
        at = at or timezone.now()
        with transaction.atomic():
            update = IncidentUpdate.objects.create(incident=self, status=status, body=body, created=at)
            self.status = status
            if status == self.Status.RESOLVED:
                self.resolved = self.resolved or at
            else:
                self.resolved = None
            self.save(update_fields=["status", "resolved"])
        return update


class IncidentUpdate(models.Model):
    incident = models.ForeignKey(Incident, models.CASCADE, related_name="updates")
    status = models.CharField(max_length=15, choices=Incident.Status.choices)
    body = models.TextField()
    created = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created", "-id"]

    def __str__(self):
        return f"{self.incident}: {self.status}"


# --- The public page's cache is dropped whenever what it shows is changed by a person -------------------


def _page_of(instance):
    if isinstance(instance, StatusPage):
        return instance
    if isinstance(instance, IncidentUpdate):
        return StatusPage.objects.filter(incidents__id=instance.incident_id).first()
    return StatusPage.objects.filter(pk=instance.page_id).first()


def _changed(sender, instance, **kwargs):
    if kwargs.get("raw"):
        return
    page = _page_of(instance)
    if page is not None:
        page.invalidate(gone=isinstance(instance, StatusPage) and kwargs.get("signal") is post_delete)


for _model in (StatusPage, StatusComponent, Incident, IncidentUpdate):
    post_save.connect(_changed, sender=_model, dispatch_uid=f"status-page-cache-save-{_model.__name__}")
    post_delete.connect(_changed, sender=_model, dispatch_uid=f"status-page-cache-delete-{_model.__name__}")


def _links_changed(sender, instance, action, reverse, model, pk_set, **kwargs):
    if not action.startswith("post_"):
        return
    if isinstance(instance, StatusComponent | Incident):
        pages = StatusPage.objects.filter(pk=instance.page_id)
    elif model is StatusComponent:
        # The reverse side (monitor.components.add(...)): the pages of the components named.
        pages = StatusPage.objects.filter(components__id__in=pk_set or []).distinct()
    else:
        return
    for page in pages:
        page.invalidate()


for _through in (
    StatusComponent.monitors.through,
    StatusComponent.heartbeats.through,
    Incident.components.through,
):
    m2m_changed.connect(
        _links_changed, sender=_through, dispatch_uid=f"status-page-cache-m2m-{_through.__name__}"
    )
