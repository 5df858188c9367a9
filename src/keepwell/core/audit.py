"""Record every create, update and delete of keepwell's models, and every sign-in, in the audit log.

Who did it comes from a context variable that the web middleware and the API's token check set, so the
models stay free of request plumbing. Objects that change by themselves all day (findings, notifications,
deliveries) are left out; people's actions on findings are recorded explicitly by the views and the API.
"""

import contextvars
from contextlib import contextmanager

from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.db.models.signals import post_delete, post_save, pre_delete, pre_save
from django.dispatch import receiver

from . import clientip

_actor: contextvars.ContextVar = contextvars.ContextVar("keepwell_actor", default=(None, None))
# record()'s "find the organization from the object" default, so that organization=None can be asked for.
_FROM_OBJECT = object()
# Attribute on a deletion's origin (the instance or queryset whose delete() started it) holding the primary
# keys of the organizations that deletion removes.
_DELETING_ORGS = "_keepwell_audit_deleting_orgs"

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


def record(action, obj=None, *, actor=None, organization=_FROM_OBJECT, changes=None, ip=None, label=""):
    """Write one audit event. `actor` and `ip` default to the current request's, `organization` to `obj`'s
    (pass None explicitly for an event that belongs to no organization)."""
    from .models import AuditEvent

    ctx_actor, ctx_ip = _actor.get()
    actor = actor if actor is not None else ctx_actor
    if actor is not None and not getattr(actor, "is_authenticated", False):
        actor = None
    ip = ip or ctx_ip
    if organization is _FROM_OBJECT:
        organization = organization_of(obj) if obj is not None else None
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


@receiver(pre_delete)
def _note_deleted_organization(sender, instance, origin=None, **kwargs):
    """Remember, on the deletion's origin, which organizations it removes (pre_delete runs for every row of a
    cascade before the first one is deleted)."""
    from .models import Organization

    if origin is not None and isinstance(instance, Organization):
        pks = getattr(origin, _DELETING_ORGS, None)
        if pks is None:
            pks = set()
            setattr(origin, _DELETING_ORGS, pks)
        pks.add(instance.pk)


@receiver(post_delete)
def _on_delete(sender, instance, origin=None, **kwargs):
    """Record a delete, except for the rows that go with a deleted organization.

    Django deletes an organization after everything that cascades from it, so the children's events would
    point at a row deleted a moment later (and their own log rows are already gone with it): an IntegrityError
    at commit, PostgreSQL and SQLite both checking foreign keys then. The organization's own event is kept,
    with no organization, as the record of who deleted it.
    """
    if not _audited(sender):
        return
    from .models import Organization

    if isinstance(instance, Organization):
        record("delete", instance, organization=None, changes=_snapshot(instance))
        return
    org = organization_of(instance)
    if org is None:
        return
    if org.pk in (getattr(origin, _DELETING_ORGS, None) or ()):
        return
    record("delete", instance, organization=org, changes=_snapshot(instance))


def _ip(request):
    return clientip.from_request(request)


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
