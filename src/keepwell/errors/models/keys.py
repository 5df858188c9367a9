"""DSN keys and the spool of accepted envelopes (owned by the ingest side)."""

__all__: list[str] = []
