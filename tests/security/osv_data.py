"""Where the security tests find OSV data: the real PyPI export on this machine, and hand-written npm records."""

from pathlib import Path

import pytest

DATA = Path(__file__).parent / "data"
NPM_ADVISORIES = DATA / "npm-advisories.json"
# A real OSV export of the PyPA advisory database, shared by the project (never copied into the repository).
PYPI_EXPORT = Path(__file__).resolve().parents[3] / "shared" / "data" / "osv" / "PyPI-all.zip"
if not PYPI_EXPORT.exists():  # CI clones the repository beside a copy of shared/
    PYPI_EXPORT = Path("/work/shared/data/osv/PyPI-all.zip")

needs_pypi_export = pytest.mark.skipif(
    not PYPI_EXPORT.exists(),
    reason=f"the real PyPI OSV export is not on this machine ({PYPI_EXPORT}); CI machines have it in shared/",
)
