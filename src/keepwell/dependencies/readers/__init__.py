"""Read a repository's manifests and lockfiles into `keepwell.dependencies.types` objects; no Django here.

One module per format (`requirements`, `pyproject`, `pipfile`, `poetry_lock`, `uv_lock`, `pipfile_lock`,
`pylock`, `package_json`, `npm_lock`, `yarn_lock`, `pnpm_lock`); `_scan` finds the files, groups them into
projects and merges what manifests declare with what lockfiles resolve.
"""

from __future__ import annotations

from pathlib import Path

from keepwell.dependencies.readers import _scan
from keepwell.dependencies.readers._common import normalize as _normalize
from keepwell.dependencies.types import Dependency, ReadError, ScanResult

__all__ = ["DEFAULT_MAX_FILE_SIZE", "ReadError", "normalize", "read_file", "scan"]

DEFAULT_MAX_FILE_SIZE = 50 * 2**20


def normalize(ecosystem: str, name: str) -> str:
    """Return the canonical name of a package: PEP 503 for PyPI, npm names unchanged."""
    return _normalize(ecosystem, name)


def read_file(path: str | Path, *, root: str | Path | None = None) -> list[Dependency]:
    """Read one manifest or lockfile, chosen by its file name; raise ReadError when it cannot be read.

    A lockfile is read with the manifest beside it (which says what is direct). Includes (`-r`) may reach
    anywhere under root, which defaults to the file's folder.
    """
    return _scan.read_file(path, root=root)


def scan(root: str | Path, *, max_file_size: int = DEFAULT_MAX_FILE_SIZE) -> ScanResult:
    """Find every manifest and lockfile under root, group them into projects and read their dependencies."""
    return _scan.scan(root, max_file_size=max_file_size)
