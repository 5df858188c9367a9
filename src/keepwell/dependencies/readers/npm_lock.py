"""Read package-lock.json and npm-shrinkwrap.json: v1 (nested "dependencies") and v2/v3 ("packages")."""

from __future__ import annotations

import json

from keepwell.dependencies.readers._common import (
    LineFinder,
    Lock,
    Manifest,
    Package,
    Root,
    expect,
    load_json,
    walk,
)
from keepwell.dependencies.readers.package_json import SECTIONS, classify
from keepwell.dependencies.types import ALIAS, NPM, PATH, REGISTRY, VCS, WORKSPACE, ReadError


def _kind_of(resolved: str) -> tuple[str, str]:
    if resolved.startswith(("git+", "git:", "github:")):
        return VCS, resolved
    if resolved.startswith("file:"):
        return PATH, resolved
    return REGISTRY, ""


def _resolve(packages: dict, location: str, name: str) -> str | None:
    """Find the package a location's require of name resolves to, the way Node walks up node_modules."""
    base = location
    while True:
        candidate = f"{base}/node_modules/{name}" if base else f"node_modules/{name}"
        if candidate in packages:
            return candidate
        if not base:
            return None
        cut = base.rfind("/node_modules/")
        base = base[:cut] if cut >= 0 else ""


def read(text: str, rel: str, manifests: dict[str, Manifest] | None = None) -> Lock:
    """Read an npm lockfile; every workspace member is an importer."""
    data = expect(load_json(text, rel), dict, rel, "the top level")
    if "lockfileVersion" not in data:
        raise ReadError(rel, 'has no "lockfileVersion"; it does not look like a package-lock.json', 1)
    finder = LineFinder(text)
    if isinstance(data.get("packages"), dict) and data["packages"]:
        return _read_packages(data["packages"], text, rel, finder)
    return _read_v1(data, text, rel, finder, (manifests or {}).get(""))


def _read_packages(entries: dict, text: str, rel: str, finder: LineFinder) -> Lock:
    packages: dict[str, Package] = {}
    raw: dict[str, dict] = {}
    links: dict[str, str] = {}
    position = 0
    for location, entry in entries.items():
        offset = text.find(json.dumps(location) + ":", position)
        line = finder.line_of(offset) if offset >= 0 else None
        position = max(position, offset)
        entry = expect(entry, dict, rel, f'"packages" entry {location!r}', line)
        if entry.get("link"):
            links[location] = str(entry.get("resolved", "")).strip("/")
            continue
        local_name = location.rsplit("node_modules/", 1)[-1] if "node_modules/" in location else ""
        name = str(entry.get("name") or local_name or location)
        version = entry.get("version")
        kind, url = _kind_of(str(entry.get("resolved", "") or ""))
        alias = ""
        if local_name and entry.get("name") and entry["name"] != local_name:
            kind, alias, url = ALIAS, local_name, f"npm:{entry['name']}@{version}"
        if "node_modules/" not in location:
            kind = WORKSPACE  # the root or a workspace member
        packages[location] = Package(
            name=name, version=str(version) if version is not None else None, kind=kind, url=url,
            hashes=(str(entry["integrity"]),) if entry.get("integrity") else (), line=line, alias=alias,
            dev=bool(entry.get("dev")), optional=bool(entry.get("optional")),
        )  # fmt: skip
        raw[location] = entry

    known = set(packages) | set(links)

    def target(location: str, name: str) -> str | None:
        found = _resolve(known, location, name)
        return links.get(found, found) if found else None

    for location, entry in raw.items():
        edges = []
        for section in ("dependencies", "optionalDependencies", "peerDependencies"):
            for name in (entry.get(section) or {}) if isinstance(entry.get(section), dict) else ():
                found = target(location, name)
                if found:
                    edges.append(found)
        packages[location].edges = edges

    importers = {}
    for location, entry in raw.items():
        if "node_modules/" in location:
            continue
        roots = []
        for section in SECTIONS:
            body = entry.get(section) if isinstance(entry.get(section), dict) else {}
            for name, spec in body.items():
                found = target(location, name)
                if found:
                    kind, _, rng, _ = classify(str(spec))
                    roots.append(Root(found, rng if kind in (REGISTRY, ALIAS) else str(spec),
                                      dev=section == "devDependencies",
                                      optional=section == "optionalDependencies", groups=(section,)))  # fmt: skip
        graph = {k: p for k, p in packages.items() if k != location}
        importers[location] = walk(NPM, rel, graph, roots, include_unreached=False)
    if "" in importers:
        # Packages no importer reaches (extraneous) still sit in node_modules: the root reports them.
        reached = {(d.name, d.version) for deps in importers.values() for d in deps}
        for location, package in packages.items():
            if "node_modules/" in location and (package.name, package.version) not in reached:
                reached.add((package.name, package.version))
                importers[""].append(walk(NPM, rel, {location: package}, [], include_unreached=True)[0])
    return Lock(importers)


def _read_v1(data: dict, text: str, rel: str, finder: LineFinder, manifest: Manifest | None) -> Lock:
    packages: dict[str, Package] = {}
    requires: dict[str, dict] = {}
    position = [0]

    def visit(body, parent: str, depth: int):
        if depth > 200:
            raise ReadError(rel, "nests dependencies more than 200 levels deep; this is not a real lockfile")
        for name, entry in expect(body, dict, rel, '"dependencies"').items():
            offset = text.find(json.dumps(name) + ":", position[0])
            line = finder.line_of(offset) if offset >= 0 else None
            position[0] = max(position[0], offset)
            entry = expect(entry, dict, rel, f"dependency {name!r}", line)
            location = f"{parent}/node_modules/{name}" if parent else f"node_modules/{name}"
            version = str(entry.get("version", "") or "")
            kind, url = _kind_of(version)
            real, alias = name, ""
            if version.startswith("npm:"):
                _, real, _, exact_version = classify(version)
                kind, alias, url, version = ALIAS, name, version, exact_version or version.rpartition("@")[2]
            elif kind != REGISTRY:
                version = ""
            packages[location] = Package(
                name=real, version=version or None, kind=kind, url=url,
                hashes=(str(entry["integrity"]),) if entry.get("integrity") else (), line=line, alias=alias,
                dev=bool(entry.get("dev")), optional=bool(entry.get("optional")),
            )  # fmt: skip
            requires[location] = entry.get("requires") if isinstance(entry.get("requires"), dict) else {}
            if entry.get("dependencies"):
                visit(entry["dependencies"], location, depth + 1)

    visit(data.get("dependencies") or {}, "", 0)
    for location, required in requires.items():
        packages[location].edges = [t for t in (_resolve(packages, location, n) for n in required) if t]
    if manifest is not None:
        roots = []
        for dep in manifest.dependencies:
            found = _resolve(packages, "", dep.alias or dep.name)
            if found:
                roots.append(Root(found, dep.specifier, dep.dev, dep.optional, dep.groups))
        return Lock({"": walk(NPM, rel, packages, roots)})
    # Without package.json: top-level packages nothing requires are taken as direct; the lock says dev.
    required_somewhere = {e for p in packages.values() for e in p.edges}
    roots = [
        Root(k, dev=bool(p.dev), optional=bool(p.optional))
        for k, p in packages.items()
        if k.count("node_modules/") == 1 and k not in required_somewhere
    ]
    return Lock({"": walk(NPM, rel, packages, roots)}, knows_direct=False)
