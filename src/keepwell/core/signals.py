"""Cross-practice events. Practices send and receive these; none imports another practice."""

from django.dispatch import Signal

from . import repositories

# A finding changed state. kwargs: finding, event (a FindingEvent.Kind value), actor (a User or None).
finding_changed = Signal()

# A release was deployed to an environment. kwargs: deploy (core.Deploy).
release_deployed = Signal()

# A service's clone in the data directory goes with the service, or with its old git URL, once the change
# commits (repositories.remove_clone).
repositories.connect_signals()
