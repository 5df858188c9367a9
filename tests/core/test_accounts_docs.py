"""The manual's table of roles says exactly what core/models/tenancy.PERMISSIONS says."""

import re
from pathlib import Path

from keepwell.core.models import Role
from keepwell.core.models.tenancy import PERMISSIONS, ROLE_RANK

ACCOUNTS = Path(__file__).resolve().parents[2] / "docs" / "accounts.md"
ROLES = [Role.VIEWER, Role.MEMBER, Role.ADMIN, Role.OWNER]


def documented_permissions() -> dict[str, list[str]]:
    """Return, for each permission row of the table, the roles ticked in it."""
    rows = {}
    for line in ACCOUNTS.read_text().splitlines():
        match = re.match(r"^\|\s*`(\w+)`\s*\|[^|]*\|(.*)\|\s*$", line)
        if match:
            cells = [c.strip() for c in match.group(2).split("|")]
            rows[match.group(1)] = [
                role.value for role, cell in zip(ROLES, cells, strict=True) if cell == "✓"
            ]
    return rows


def test_it_documents_every_permission_with_the_roles_that_have_it():
    expected = {
        name: [r.value for r in ROLES if ROLE_RANK[r] >= ROLE_RANK[lowest]]
        for name, lowest in PERMISSIONS.items()
    }
    assert documented_permissions() == expected


def test_the_table_header_lists_the_roles_in_rank_order():
    assert "| permission | what it allows | viewer | member | admin | owner |" in ACCOUNTS.read_text()
