"""Read pylock.toml (PEP 751): a flat list of packages; the pyproject.toml says which are direct."""

from __future__ import annotations

from keepwell.dependencies.readers._common import (
    Lock,
    Manifest,
    entry_lines,
    expect,
    load_toml,
    normalize,
)
from keepwell.dependencies.types import EDITABLE, PATH, PYPI, REGISTRY, URL, VCS, Dependency, ReadError


def read(text: str, rel: str, manifests: dict[str, Manifest] | None = None) -> Lock:
    """Read a pylock.toml; VCS, directory and archive packages are reported as such."""
    data = load_toml(text, rel)
    if "lock-version" not in data:
        raise ReadError(rel, "has no lock-version; it does not look like a PEP 751 pylock.toml", 1)
    lock_version = str(data["lock-version"])
    if not lock_version.startswith("1."):
        raise ReadError(rel, f"has lock-version {lock_version}; keepwell reads version 1.x", 1)
    out: list[Dependency] = []
    lines = entry_lines(text, "packages")
    for index, entry in enumerate(expect(data.get("packages", []), list, rel, "[[packages]]")):
        entry = expect(entry, dict, rel, "each [[packages]]")
        name = entry.get("name")
        line = lines[index] if index < len(lines) else None
        if not isinstance(name, str) or not name:
            raise ReadError(rel, "a [[packages]] entry has no name", line)
        version = entry.get("version")
        kind, url = REGISTRY, ""
        if isinstance(entry.get("vcs"), dict):
            vcs = entry["vcs"]
            kind = VCS
            url = f"{vcs.get('type', 'git')}+{vcs.get('url') or vcs.get('path', '')}"
            if vcs.get("commit-id"):
                url += f"@{vcs['commit-id']}"
        elif isinstance(entry.get("directory"), dict):
            kind = EDITABLE if entry["directory"].get("editable") else PATH
            url = str(entry["directory"].get("path", ""))
        elif isinstance(entry.get("archive"), dict):
            archive = entry["archive"]
            kind, url = (
                (URL, str(archive["url"])) if archive.get("url") else (PATH, str(archive.get("path", "")))
            )
        hashes = []
        for item in [entry.get("sdist"), entry.get("archive"), *(entry.get("wheels") or [])]:
            if isinstance(item, dict) and isinstance(item.get("hashes"), dict):
                hashes += [f"{algo}:{value}" for algo, value in item["hashes"].items()]
        out.append(
            Dependency(
                name=normalize(PYPI, name), ecosystem=PYPI,
                version=str(version) if version is not None and kind == REGISTRY else None,
                direct=False, source=rel, line=line, kind=kind, url=url, markers=str(entry.get("marker", "") or ""),
                hashes=tuple(hashes),
            )
        )  # fmt: skip
    return Lock({"": out}, knows_direct=False)
