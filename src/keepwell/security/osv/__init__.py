"""Known vulnerabilities from OSV: reading exports, the local index, and matching. No Django here."""

from .match import Record, Vulnerability, included_in_ranges, is_affected, match_package, smallest_fix
from .records import InvalidRecord, parse
from .store import BuildStats, Database, OsvError, build
from .versions import ECOSYSTEMS, NPM, PYPI, normalize_name

__all__ = [
    "BuildStats",
    "Database",
    "ECOSYSTEMS",
    "InvalidRecord",
    "NPM",
    "OsvError",
    "PYPI",
    "Record",
    "Vulnerability",
    "build",
    "included_in_ranges",
    "is_affected",
    "match_package",
    "normalize_name",
    "parse",
    "smallest_fix",
]
