"""Read uv.lock: packages, their sources, and the workspace members' runtime, optional and dev roots."""

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
    walk,
)  # fmt: skip
from keepwell.dependencies.types import EDITABLE, PATH, PYPI, REGISTRY, URL, VCS, WORKSPACE, ReadError


def _key(name: str, version) -> str:
    return f"{normalize(PYPI, name)}@{version}"


def read(text: str, rel: str, manifests: dict[str, Manifest] | None = None) -> Lock:
    """Read a uv.lock; each workspace member (or the single project) is an importer."""
    data = load_toml(text, rel)
    if "version" not in data and "package" not in data:
        raise ReadError(rel, "has neither a version nor [[package]] entries; it does not look like a uv.lock")
    entries = expect(data.get("package", []), list, rel, "[[package]]")
    members = {normalize(PYPI, str(m)) for m in expect(data.get("manifest", {}), dict, rel, "[manifest]").get(
        "members", [])}  # fmt: skip
    packages: dict[str, Package] = {}
    by_name: dict[str, list[str]] = {}
    member_paths: dict[str, str] = {}  # member key -> directory relative to the lock's
    raw: dict[str, dict] = {}
    lines = entry_lines(text, "package")
    for index, entry in enumerate(entries):
        entry = expect(entry, dict, rel, "each [[package]]")
        name, version = entry.get("name"), entry.get("version")
        line = lines[index] if index < len(lines) else None
        if not isinstance(name, str):
            raise ReadError(rel, "a [[package]] entry has no name", line)
        key = _key(name, version)
        source = expect(entry.get("source", {}), dict, rel, f"source of {name}", line)
        kind, url = REGISTRY, ""
        local = source.get("virtual") or source.get("editable") or source.get("directory")
        if "git" in source:
            kind, url = VCS, "git+" + str(source["git"])
        elif "url" in source:
            kind, url = URL, str(source["url"])
        elif "path" in source:
            kind, url = PATH, str(source["path"])
        elif local is not None:
            kind, url = (EDITABLE if "editable" in source else PATH), str(local)
            is_member = normalize(PYPI, name) in members or (not members and str(local) == ".")
            if is_member:
                kind = WORKSPACE
                member_paths[key] = "" if str(local) == "." else str(local).strip("/")
        hashes = []
        sdist = entry.get("sdist")
        if isinstance(sdist, dict) and sdist.get("hash"):
            hashes.append(str(sdist["hash"]))
        for wheel in entry.get("wheels", []) or []:
            if isinstance(wheel, dict) and wheel.get("hash"):
                hashes.append(str(wheel["hash"]))
        packages[key] = Package(name=name, version=str(version) if version is not None else None, kind=kind,
                                url=url, hashes=tuple(hashes), line=line)  # fmt: skip
        by_name.setdefault(normalize(PYPI, name), []).append(key)
        raw[key] = entry

    def resolve(ref, where: str, line) -> str | None:
        ref = expect(ref, dict, rel, f"a dependency of {where}", line)
        name = normalize(PYPI, str(ref.get("name", "")))
        if "version" in ref:
            return _key(name, ref["version"])
        keys = by_name.get(name)
        return keys[0] if keys else None

    for key, entry in raw.items():
        package = packages[key]
        edges = [resolve(d, package.name, package.line) for d in entry.get("dependencies", []) or []]
        for extra_deps in (entry.get("optional-dependencies") or {}).values():
            edges += [resolve(d, package.name, package.line) for d in extra_deps]
        package.edges = [e for e in edges if e]

    importers: dict[str, list] = {}
    for key, path in member_paths.items():
        entry, package = raw[key], packages[key]
        specs = _declared_specifiers(entry)
        roots = []
        for ref in entry.get("dependencies", []) or []:
            target = resolve(ref, package.name, package.line)
            if target:
                roots.append(
                    Root(
                        target, specs.get(("", target.split("@")[0]), ""), markers=str(ref.get("marker", ""))
                    )
                )
        for extra, refs in (entry.get("optional-dependencies") or {}).items():
            for ref in refs:
                target = resolve(ref, package.name, package.line)
                if target:
                    roots.append(
                        Root(
                            target, specs.get(("", target.split("@")[0]), ""), optional=True, groups=(extra,)
                        )
                    )
        for group, refs in (entry.get("dev-dependencies") or {}).items():
            for ref in refs:
                target = resolve(ref, package.name, package.line)
                if target:
                    roots.append(
                        Root(target, specs.get((group, target.split("@")[0]), ""), dev=True, groups=(group,))
                    )
        # Member packages are only reachable from their own roots: one importer's graph excludes itself.
        graph = {k: p for k, p in packages.items() if k != key}
        importers[path] = walk(PYPI, rel, graph, _merge_roots(roots), include_unreached=False)
    if not importers:
        # A lock with no project entry (unusual): every package, none known to be direct.
        importers[""] = walk(PYPI, rel, packages, [], include_unreached=True)
        return Lock(importers, knows_direct=False)
    return Lock(importers)


def _declared_specifiers(entry: dict) -> dict[tuple[str, str], str]:
    """Return the specifiers the member declared, from [package.metadata], by (group, name)."""
    metadata = entry.get("metadata") or {}
    out: dict[tuple[str, str], str] = {}
    for item in metadata.get("requires-dist", []) or []:
        if isinstance(item, dict) and item.get("name"):
            out[("", normalize(PYPI, str(item["name"])))] = str(item.get("specifier", ""))
    for group, items in (metadata.get("requires-dev") or {}).items():
        for item in items or []:
            if isinstance(item, dict) and item.get("name"):
                out[(group, normalize(PYPI, str(item["name"])))] = str(item.get("specifier", ""))
    return out


def _merge_roots(roots: list[Root]) -> list[Root]:
    """Merge roots naming the same package: groups are combined, runtime beats optional beats dev."""
    merged: dict[str, Root] = {}
    for root in roots:
        current = merged.get(root.key)
        if current is None:
            merged[root.key] = root
            continue
        rank = lambda r: 2 if r.dev else 1 if r.optional else 0  # noqa: E731
        best = root if rank(root) < rank(current) else current
        groups = tuple(dict.fromkeys(current.groups + root.groups))
        merged[root.key] = Root(best.key, best.specifier or current.specifier or root.specifier, best.dev,
                                best.optional, groups, best.extras, best.markers)  # fmt: skip
    return list(merged.values())
