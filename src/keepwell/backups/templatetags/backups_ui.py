"""Template filters of the backups pages."""

from django import template

from .. import charts

register = template.Library()


@register.filter
def filesize(value):
    """Show a number of bytes as 1.5 MiB."""
    return charts.human_bytes(value)


@register.filter
def seconds(value):
    """Show a duration in seconds as 12.3 s or 4 min 5 s."""
    if value is None:
        return "–"
    value = float(value)
    if value < 60:
        return f"{value:.1f} s"
    minutes, secs = divmod(int(value), 60)
    return f"{minutes} min {secs} s"
