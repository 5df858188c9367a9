"""Read poetry.lock: lock-version 1.x (category, [metadata.files]) and 2.x (groups, inline files)."""

from __future__ import annotations

from keepwell.dependencies.readers._common import (
    Lock,
    Manifest,
    Package,
    Root,
    entry_lines,
    expect,
    load_toml,
    normalize,
    roots_from_manifest,
    walk,
)  # fmt: skip
from keepwell.dependencies.types import PATH, PYPI, REGISTRY, URL, VCS, ReadError


def read(text: str, rel: str, manifests: dict[str, Manifest] | None = None) -> Lock:
    """Read a poetry.lock; the manifest (pyproject.toml) says which packages are direct."""
    data = load_toml(text, rel)
    entries = expect(data.get("package", []), list, rel, "[[package]]")
    metadata = expect(data.get("metadata", {}), dict, rel, "[metadata]")
    if not entries and "lock-version" not in metadata and "content-hash" not in metadata:
        raise ReadError(
            rel, "has no [[package]] entries and no [metadata]; it does not look like a poetry.lock"
        )
    legacy_files = expect(metadata.get("files", {}), dict, rel, "[metadata.files]")
    packages: dict[str, Package] = {}
    groups_of: dict[str, tuple[str, ...]] = {}
    lines = entry_lines(text, "package")
    for index, entry in enumerate(entries):
        entry = expect(entry, dict, rel, "each [[package]]")
        name, version = entry.get("name"), entry.get("version")
        line = lines[index] if index < len(lines) else None
        if not isinstance(name, str) or not isinstance(version, str):
            raise ReadError(rel, "a [[package]] entry lacks a name or version string", line)
        key = normalize(PYPI, name)
        files = entry.get("files") or legacy_files.get(name) or legacy_files.get(key) or []
        hashes = tuple(str(f.get("hash")) for f in files if isinstance(f, dict) and f.get("hash"))
        kind, url = REGISTRY, ""
        source = entry.get("source") or {}
        if isinstance(source, dict) and source.get("type") in ("git", "directory", "file", "url"):
            kind = {"git": VCS, "directory": PATH, "file": PATH, "url": URL}[source["type"]]
            url = str(source.get("url", ""))
            if kind == VCS:
                url = f"git+{url}@{source.get('resolved_reference') or source.get('reference') or ''}".rstrip(
                    "@"
                )
            if source["type"] == "directory" and entry.get("develop"):
                kind = "editable"
        deps = expect(entry.get("dependencies", {}), dict, rel, f"dependencies of {name}", line)
        groups = entry.get("groups") or ([entry["category"]] if entry.get("category") else [])
        groups_of[key] = tuple(str(g) for g in groups)
        packages[key] = Package(
            name=name, version=None if kind != REGISTRY else version, kind=kind, url=url, hashes=hashes,
            line=line, markers=str(entry.get("markers", "") or "") if isinstance(entry.get("markers"), str) else "",
            edges=[normalize(PYPI, d) for d in deps],
            dev=("main" not in groups) if groups else None, optional=bool(entry.get("optional", False)),
        )  # fmt: skip
        if kind == REGISTRY:
            packages[key].version = version
    manifest = (manifests or {}).get("")
    if manifest is not None:
        roots = roots_from_manifest(manifest, lambda d: d.name if d.name in packages else None)
        return Lock({"": walk(PYPI, rel, packages, roots)})
    # Without the manifest: what nothing else depends on is taken as direct, groups say dev.
    depended = {e for p in packages.values() for e in p.edges}
    roots = [
        Root(k, dev=bool(p.dev), optional=bool(p.optional), groups=groups_of.get(k, ()))
        for k, p in packages.items()
        if k not in depended
    ]
    return Lock({"": walk(PYPI, rel, packages, roots)}, knows_direct=False)
