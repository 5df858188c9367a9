"""Read yarn.lock: the v1 format (yarn's own syntax) and berry (YAML with __metadata, yarn 2+)."""

from __future__ import annotations

import re

from keepwell.dependencies.readers._common import Lock, Manifest, Package, Root, expect, load_yaml, walk
from keepwell.dependencies.types import ALIAS, NPM, PATH, REGISTRY, URL, VCS, WORKSPACE, ReadError

_V1_VALUE = re.compile(r'^("(?:[^"\\]|\\.)*"|[^\s"]+)\s+("(?:[^"\\]|\\.)*"|[^\s"]\S*)$')


def split_descriptor(descriptor: str) -> tuple[str, str]:
    """Split "name@range" (scoped names too) into name and range."""
    at = descriptor.find("@", 1)
    if at < 0:
        return descriptor, ""
    return descriptor[:at], descriptor[at + 1 :]


def _unquote(value: str) -> str:
    if len(value) >= 2 and value[0] == value[-1] == '"':
        return value[1:-1].replace('\\"', '"').replace("\\\\", "\\")
    return value


def is_berry(text: str) -> bool:
    """Tell a berry (YAML) yarn.lock from a v1 one."""
    return bool(re.search(r"^__metadata:", text[:4096], re.MULTILINE))


def read(text: str, rel: str, manifests: dict[str, Manifest] | None = None) -> Lock:
    """Read a yarn.lock of either format; the package.json files say which packages are direct and dev."""
    if is_berry(text):
        return _read_berry(text, rel, manifests or {})
    return _read_v1(text, rel, manifests or {})


def parse_v1(text: str, rel: str) -> list[tuple[list[str], dict, int]]:
    """Parse the v1 syntax into (descriptors, fields, line) entries."""
    entries: list[tuple[list[str], dict, int]] = []
    current: dict | None = None
    section: dict | None = None
    for number, raw in enumerate(text.splitlines(), 1):
        if not raw.strip() or raw.lstrip().startswith("#"):
            continue
        indent = len(raw) - len(raw.lstrip(" "))
        line = raw.strip()
        if indent == 0:
            if not line.endswith(":"):
                raise ReadError(rel, f"expected an entry like 'name@range:' but found {line[:80]!r}", number)
            descriptors = [_unquote(d.strip()) for d in line[:-1].split(",") if d.strip()]
            if not descriptors:
                raise ReadError(rel, "has an entry with no package name", number)
            current, section = {}, None
            entries.append((descriptors, current, number))
            continue
        if current is None:
            raise ReadError(rel, f"has an indented line outside of any entry: {line[:80]!r}", number)
        if indent == 2:
            if line.endswith(":"):
                section = {}
                current[_unquote(line[:-1])] = section
                continue
            section = None
            match = _V1_VALUE.match(line)
            if not match:
                raise ReadError(rel, f"cannot read the field {line[:80]!r}", number)
            current[_unquote(match.group(1))] = _unquote(match.group(2))
        elif indent >= 4 and section is not None:
            match = _V1_VALUE.match(line)
            if not match:
                raise ReadError(rel, f"cannot read the dependency {line[:80]!r}", number)
            section[_unquote(match.group(1))] = _unquote(match.group(2))
        else:
            raise ReadError(rel, f"has unexpected indentation at {line[:80]!r}", number)
    return entries


def _kind_from_resolved(resolved: str) -> tuple[str, str]:
    if resolved.startswith(("git+", "git:", "github:", "git@")) or "codeload.github.com" in resolved:
        return VCS, resolved
    if resolved.startswith("file:"):
        return PATH, resolved
    return REGISTRY, ""


def _read_v1(text: str, rel: str, manifests: dict[str, Manifest]) -> Lock:
    packages: dict[str, Package] = {}
    by_descriptor: dict[str, str] = {}
    raw: dict[str, dict] = {}
    for descriptors, fields, line in parse_v1(text, rel):
        if "version" not in fields:
            raise ReadError(rel, f"entry {descriptors[0]!r} has no version; the file may be truncated", line)
        key = descriptors[0]
        name, rng = split_descriptor(key)
        kind, url = _kind_from_resolved(str(fields.get("resolved", "")))
        alias = ""
        if rng.startswith("npm:"):
            real, _ = split_descriptor(rng[4:])
            kind, alias, url, name = ALIAS, name, rng, real
        integrity = fields.get("integrity")
        packages[key] = Package(name=name, version=str(fields["version"]) if kind in (REGISTRY, ALIAS) else None,
                                kind=kind, url=url, hashes=(integrity,) if integrity else (), line=line,
                                alias=alias)  # fmt: skip
        raw[key] = fields
        for descriptor in descriptors:
            by_descriptor[descriptor] = key
    for key, fields in raw.items():
        edges = []
        for section in ("dependencies", "optionalDependencies"):
            for dep_name, dep_range in (fields.get(section) or {}).items():
                found = by_descriptor.get(f"{dep_name}@{dep_range}")
                if found:
                    edges.append(found)
        packages[key].edges = edges
    if not manifests:
        return Lock({"": walk(NPM, rel, packages, [], include_unreached=True)}, knows_direct=False)
    # Workspace members are not in a v1 lock: a dependency on one links to that member's own dependencies.
    members = {m.name: f"workspace:{p}" for p, m in manifests.items() if m.name}
    roots_of: dict[str, list[Root]] = {}
    for path, manifest in manifests.items():
        roots = []
        for dep in manifest.dependencies:
            raw_spec = dep.url if dep.kind == "alias" else (dep.url or dep.specifier)
            found = by_descriptor.get(f"{dep.alias or dep.name}@{raw_spec}")
            if found is None and dep.name in members and not dep.alias:
                found = members[dep.name]
                packages.setdefault(found, Package(name=dep.name, version=None, kind=WORKSPACE))
            if found:
                roots.append(Root(found, dep.specifier, dep.dev, dep.optional, dep.groups))
        roots_of[path] = roots
    for path, roots in roots_of.items():
        if f"workspace:{path}" in packages:
            packages[f"workspace:{path}"].edges = [r.key for r in roots if not r.dev]
    importers = {}
    for path, roots in roots_of.items():
        importers[path] = walk(NPM, rel, packages, roots, include_unreached=len(manifests) == 1)
    return Lock(importers)


def _parse_resolution(resolution: str) -> tuple[str, str, str]:
    """Return (name, protocol, rest) from a berry resolution like "debug@npm:4.4.3"."""
    name, rest = split_descriptor(resolution)
    protocol, _, value = rest.partition(":")
    return name, protocol, value


def _read_berry(text: str, rel: str, manifests: dict[str, Manifest]) -> Lock:
    data = expect(load_yaml(text, rel), dict, rel, "the top level")
    packages: dict[str, Package] = {}
    by_descriptor: dict[str, str] = {}
    raw: dict[str, dict] = {}
    workspaces: dict[str, str] = {}  # workspace path -> key
    lines = _berry_lines(text)
    for key_text, entry in data.items():
        if key_text == "__metadata":
            continue
        line = lines.get(key_text)
        entry = expect(entry, dict, rel, f"entry {key_text!r}", line)
        resolution = entry.get("resolution")
        if not isinstance(resolution, str) or "version" not in entry:
            raise ReadError(
                rel, f"entry {key_text!r} has no resolution or version; the file may be truncated", line
            )
        descriptors = [d.strip() for d in str(key_text).split(",") if d.strip()]
        name, protocol, value = _parse_resolution(resolution)
        local_name = split_descriptor(descriptors[0])[0]
        version = str(entry["version"])
        kind, url = REGISTRY, ""
        if protocol == "workspace":
            kind, version = WORKSPACE, None  # berry writes a placeholder version (0.0.0-use.local)
            workspaces["" if value in (".", "") else value.strip("/")] = resolution
        elif protocol in ("file", "portal", "link"):
            kind, url, version = PATH, resolution, None
        elif protocol in ("git", "git+https", "git+ssh", "github") or "#commit=" in value or ".git#" in value:
            kind, url, version = VCS, value, None
        elif protocol in ("http", "https"):
            kind, url, version = URL, f"{protocol}:{value}", None
        alias = ""
        if local_name != name and kind == REGISTRY:
            kind, alias, url = ALIAS, local_name, split_descriptor(descriptors[0])[1]
        checksum = entry.get("checksum")
        packages[resolution] = Package(name=name, version=version, kind=kind, url=url,
                                       hashes=(str(checksum),) if checksum else (), line=line, alias=alias)  # fmt: skip
        raw[resolution] = entry
        for descriptor in descriptors:
            by_descriptor[descriptor] = resolution
    member_dev: dict[str, set[str]] = {}  # workspace resolution -> names its package.json lists as dev only
    for path, key in workspaces.items():
        manifest = manifests.get(path)
        if manifest is not None:
            runtime = {d.alias or d.name for d in manifest.dependencies if not d.dev}
            member_dev[key] = {d.alias or d.name for d in manifest.dependencies if d.dev} - runtime
    for key, entry in raw.items():
        edges = []
        for section in ("dependencies", "optionalDependencies", "peerDependencies"):
            body = entry.get(section) if isinstance(entry.get(section), dict) else {}
            for dep_name, dep_range in body.items():
                if dep_name in member_dev.get(key, ()):
                    continue  # berry lists a workspace's dev dependencies with the others
                found = by_descriptor.get(f"{dep_name}@{dep_range}")
                if found:
                    edges.append(found)
        packages[key].edges = edges
    importers = {}
    for path, key in workspaces.items():
        entry, manifest = raw[key], manifests.get(path)
        declared = {}
        if manifest is not None:
            declared = {(d.alias or d.name): d for d in manifest.dependencies}
        meta = entry.get("dependenciesMeta") if isinstance(entry.get("dependenciesMeta"), dict) else {}
        roots = []
        for dep_name, dep_range in (entry.get("dependencies") or {}).items():
            found = by_descriptor.get(f"{dep_name}@{dep_range}")
            if not found:
                continue
            dep = declared.get(dep_name)
            optional = (
                bool((meta.get(dep_name) or {}).get("optional"))
                if isinstance(meta.get(dep_name), dict)
                else False
            )
            if dep is not None:
                roots.append(Root(found, dep.specifier, dep.dev, dep.optional or optional, dep.groups))
            else:
                roots.append(Root(found, str(dep_range).removeprefix("npm:"), optional=optional))
        graph = {k: p for k, p in packages.items() if k != key}
        importers[path] = walk(NPM, rel, graph, roots, include_unreached=len(workspaces) == 1)
    if not importers:
        return Lock({"": walk(NPM, rel, packages, [], include_unreached=True)}, knows_direct=False)
    return Lock(importers)


def _berry_lines(text: str) -> dict[str, int]:
    """Map each top-level key of a berry lockfile to its line."""
    out = {}
    for number, raw in enumerate(text.splitlines(), 1):
        if raw and not raw[0].isspace() and not raw.startswith("#") and raw.rstrip().endswith(":"):
            out[_unquote(raw.rstrip()[:-1])] = number
    return out
