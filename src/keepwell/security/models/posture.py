"""Secrets found in repositories, and the web posture of monitored HTTPS URLs."""

__all__: list[str] = []
