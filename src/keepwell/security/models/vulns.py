"""Vulnerabilities found in services and the team's VEX decisions."""

__all__: list[str] = []
