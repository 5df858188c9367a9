"""Core's JSON API, one module per resource; keepwell/api.py mounts them under /api/v1/."""
