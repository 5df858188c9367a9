"""Record every create, update and delete of keepwell's models, and every sign-in, in the audit log.

Who did it comes from a context variable that the web middleware and the API's token check set, so the
models stay free of request plumbing. Objects that change by themselves all day (findings, notifications,
deliveries) are left out; people's actions on findings are recorded explicitly by the views and the API.
"""

import contextvars
from contextlib import contextmanager

from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.db.models.signals import post_delete, post_save, pre_save
from django.dispatch import receiver

_actor: contextvars.ContextVar = contextvars.ContextVar("keepwell_actor", default=(None, None))

# Models whose rows change on their own: not audited through signals.
SKIP = {
    "core.auditevent",
    "core.finding",
    "core.findingevent",
    "core.notification",
    "core.delivery",
    "core.alertevent",
    "monitoring.ping",  # a heartbeat's ping log is its own record; heartbeat state moves by queryset update
    "monitoring.checkresult",  # thousands a minute from the probers: the monitor's history, not people's acts
    "monitoring.proberlease",  # a remote location's schedule, moved by its prober after every check
}
# Fields never written to the log (secrets, noise).
SECRET_FIELDS = {
    "config",  # a monitor's options may hold request headers with credentials
    "password",
    "totp_secret",
    "target",
    "signing_secret",
    "token_hash",
    "last_login",
    "last_used",
    "totp_last_step",
}


@contextmanager
def acting_as(user, ip=None):
    """Attribute audited changes inside the block to `user` (from address `ip`)."""
    token = _actor.set((user, ip))
    try:
        yield
    finally:
        _actor.reset(token)


def set_actor(user, ip=None):
    _actor.set((user, ip))


def organization_of(obj):
    """Return the organization an object belongs to, or None."""
    from .models import Organization

    if isinstance(obj, Organization):
        return obj
    for path in ("organization", "service", "release", "finding", "notification"):
        target = getattr(obj, path, None) if hasattr(obj, path + "_id") or hasattr(obj, path) else None
        if target is None:
            continue
        if path == "organization":
            return target
        return organization_of(target)
    return None


def record(action, obj=None, *, actor=None, organization=None, changes=None, ip=None, label=""):
    """Write one audit event. `actor` and `ip` default to the current request's."""
    from .models import AuditEvent

    ctx_actor, ctx_ip = _actor.get()
    actor = actor if actor is not None else ctx_actor
    if actor is not None and not getattr(actor, "is_authenticated", False):
        actor = None
    ip = ip or ctx_ip
    if organization is None and obj is not None:
        organization = organization_of(obj)
    AuditEvent.objects.create(
        organization=organization,
        actor=actor,
        actor_label=label or (actor.email if actor else "system"),
        action=action,
        object_type=obj._meta.label_lower if obj is not None else "",
        object_id=str(obj.pk) if obj is not None and obj.pk is not None else "",
        object_repr=str(obj)[:200] if obj is not None else "",
        changes=changes or {},
        ip=ip,
    )


def _audited(sender) -> bool:
    meta = getattr(sender, "_meta", None)
    if meta is None or meta.label_lower in SKIP:
        return False
    return sender.__module__.startswith("keepwell.")


def _snapshot(instance) -> dict:
    out = {}
    for field in instance._meta.concrete_fields:
        if field.name in SECRET_FIELDS:
            continue
        value = getattr(instance, field.attname)
        out[field.name] = value if isinstance(value, (int, float, bool, str, type(None))) else str(value)
    return out


@receiver(pre_save)
def _remember_old(sender, instance, raw=False, **kwargs):
    if raw or not _audited(sender) or instance.pk is None:
        return
    old = sender._default_manager.filter(pk=instance.pk).first()
    instance._audit_old = _snapshot(old) if old is not None else None


@receiver(post_save)
def _on_save(sender, instance, created, raw=False, update_fields=None, **kwargs):
    if raw or not _audited(sender):
        return
    new = _snapshot(instance)
    if created:
        record("create", instance, changes=new)
        return
    old = getattr(instance, "_audit_old", None) or {}
    diff = {k: [old.get(k), v] for k, v in new.items() if old.get(k) != v}
    if diff:
        record("update", instance, changes=diff)


@receiver(post_delete)
def _on_delete(sender, instance, **kwargs):
    if not _audited(sender):
        return
    org = organization_of(instance)
    # The organization itself (or a row inside one being deleted) may already be gone.
    from .models import Organization

    if org is not None and not Organization.objects.filter(pk=org.pk).exists():
        org = None
    if org is None and not isinstance(instance, Organization):
        return
    record("delete", instance, organization=org, changes=_snapshot(instance))


def _ip(request):
    return request.META.get("REMOTE_ADDR") if request is not None else None


@receiver(user_logged_in)
def _on_login(sender, request, user, **kwargs):
    record("login", user, actor=user, ip=_ip(request))


@receiver(user_logged_out)
def _on_logout(sender, request, user, **kwargs):
    if user is not None:
        record("logout", user, actor=user, ip=_ip(request))


@receiver(user_login_failed)
def _on_login_failed(sender, credentials, request=None, **kwargs):
    email = str(credentials.get("username") or credentials.get("email") or "")[:254]
    record("login_failed", None, ip=_ip(request), label=email or "unknown", changes={"email": email})
