"""Template helpers for the web interface: permissions, the current section, safe links, CSS classes."""

from django import template

register = template.Library()

# Which top-bar tab a page belongs to, by URL name; pages of later apps fall back to no tab.
SECTIONS = {
    "org-overview": "overview",
    "service-new": "overview",
    "service": "overview",
    "service-edit": "overview",
    "service-releases": "overview",
    "findings": "findings",
    "finding": "findings",
    "channels": "alerting",
    "channel-new": "alerting",
    "channel-edit": "alerting",
    "channel-delete": "alerting",
    "rules": "alerting",
    "rule-new": "alerting",
    "rule-edit": "alerting",
    "rule-delete": "alerting",
    "maintenance": "alerting",
    "maintenance-new": "alerting",
    "maintenance-edit": "alerting",
    "maintenance-delete": "alerting",
    "notifications": "alerting",
    "members": "members",
    "tokens": "tokens",
    "audit": "audit",
}


@register.filter
def can(membership, permission):
    """Return True when `membership` allows `permission` (False for no membership)."""
    return bool(membership) and membership.can(permission)


@register.filter
def section(resolver_match):
    """Return the top-bar tab the current page belongs to."""
    name = getattr(resolver_match, "url_name", None)
    return SECTIONS.get(name, "")


@register.filter
def state_class(state):
    """Return the CSS class of a scorecard state ("not set up" -> "st-not-set-up")."""
    return "st-" + str(state).replace(" ", "-")


@register.filter
def safe_href(url):
    """Return `url` when it is a web address or a path on this site, else "" (no javascript: links)."""
    url = str(url or "").strip()
    if url.startswith(("https://", "http://")) or (url.startswith("/") and not url.startswith("//")):
        return url
    return ""
