"""Read pnpm-lock.yaml: lockfile v6 (packages keyed "/name@version") and v9 (packages plus snapshots)."""

from __future__ import annotations

import posixpath
import re

from keepwell.dependencies.readers._common import Lock, Manifest, Package, Root, expect, load_yaml, walk
from keepwell.dependencies.readers.yarn_lock import split_descriptor
from keepwell.dependencies.types import ALIAS, NPM, PATH, REGISTRY, URL, VCS, WORKSPACE, ReadError

_PEER_SUFFIX = re.compile(r"\(.*\)$")
SECTIONS = (
    ("dependencies", False, False),
    ("optionalDependencies", False, True),
    ("devDependencies", True, False),
)


def _strip_peers(key: str) -> str:
    """Drop pnpm's peer suffix: "react-dom@18.2.0(react@18.2.0)" -> "react-dom@18.2.0"."""
    if "(" in key:
        return key[: key.index("(")]
    return key


def read(text: str, rel: str, manifests: dict[str, Manifest] | None = None) -> Lock:
    """Read a pnpm lockfile; every entry under importers (or the root) is an importer."""
    data = expect(load_yaml(text, rel), dict, rel, "the top level")
    version = str(data.get("lockfileVersion", ""))
    if not version:
        raise ReadError(rel, "has no lockfileVersion; it does not look like a pnpm-lock.yaml", 1)
    major = version.split(".")[0]
    if major not in ("6", "7", "8", "9"):
        raise ReadError(
            rel, f"has lockfileVersion {version}; keepwell reads 6.0 and 9.0 (run pnpm 8 or later)", 1
        )
    v9 = major in ("7", "8", "9")
    lines = _key_lines(text)
    packages: dict[str, Package] = {}
    meta = expect(data.get("packages") or {}, dict, rel, "packages")
    snapshots = expect(data.get("snapshots") or {}, dict, rel, "snapshots") if v9 else meta

    def package_for(key: str) -> Package:
        bare = _strip_peers(key.lstrip("/"))
        name, ver = split_descriptor(bare)
        info = meta.get(bare) or meta.get(key) or meta.get("/" + bare) or {}
        info = info if isinstance(info, dict) else {}
        resolution = info.get("resolution") if isinstance(info.get("resolution"), dict) else {}
        kind, url = REGISTRY, ""
        if resolution.get("type") == "git" or resolution.get("repo"):
            kind, url = VCS, f"{resolution.get('repo', '')}#{resolution.get('commit', '')}"
        elif resolution.get("tarball") and not resolution.get("integrity"):
            kind, url = URL, str(resolution["tarball"])
        elif resolution.get("type") == "directory" or ver.startswith(("file:", "link:")):
            kind, url = PATH, str(resolution.get("directory") or ver)
        if ver.startswith(("http:", "https:")) and kind == REGISTRY:
            kind, url = URL, ver
        if "name" in info and info.get("version"):  # v6 keeps URL/git packages under their URL
            name, ver = str(info["name"]), str(info["version"])
        integrity = resolution.get("integrity")
        return Package(name=name, version=ver if kind == REGISTRY else None, kind=kind, url=url,
                       hashes=(str(integrity),) if integrity else (), line=lines.get(key) or lines.get(bare),
                       dev=info.get("dev") if isinstance(info.get("dev"), bool) else None,
                       optional=bool(info.get("optional")))  # fmt: skip

    def ref_key(name: str, ref: str) -> str | None:
        ref = str(ref)
        if ref.startswith("link:"):
            return None
        if v9:
            return ref if "@" in _strip_peers(ref)[1:] else f"{name}@{ref}"
        if ref.startswith("/"):
            return ref
        return f"/{name}@{ref}" if "@" not in _strip_peers(ref)[1:] else f"/{ref}"

    for key, entry in snapshots.items():
        key = str(key)
        entry = expect(entry if entry is not None else {}, dict, rel, f"package {key!r}", lines.get(key))
        package = package_for(key)
        package.edges = []
        for section in ("dependencies", "optionalDependencies"):
            body = entry.get(section) if isinstance(entry.get(section), dict) else {}
            for dep_name, ref in body.items():
                target = ref_key(str(dep_name), ref)
                if target:
                    package.edges.append(target)
        packages[key] = package

    importer_map = data.get("importers")
    if importer_map is None:
        importer_map = {".": {s: data.get(s) for s, _, _ in SECTIONS if data.get(s)}}
    importer_map = expect(importer_map, dict, rel, "importers")
    roots_of: dict[str, list[Root]] = {}
    links: list[tuple[str, str]] = []  # (package key, the member folder it links to)
    for path, body in importer_map.items():
        body = expect(body or {}, dict, rel, f"importer {path!r}", lines.get(str(path)))
        roots = []
        for section, dev, optional in SECTIONS:
            for dep_name, spec in (body.get(section) or {}).items():
                if not isinstance(spec, dict):
                    raise ReadError(rel, f"importer {path!r} {section} {dep_name!r} should have specifier and "
                                         "version (lockfile v6 or later)", lines.get(str(path)))  # fmt: skip
                ref = str(spec.get("version", ""))
                specifier = str(spec.get("specifier", ""))
                if ref.startswith("link:"):
                    key = f"link:{path}:{dep_name}"
                    packages[key] = Package(name=str(dep_name), version=None, kind=WORKSPACE, url=ref)
                    base = "" if str(path) == "." else str(path)
                    links.append((key, posixpath.normpath(posixpath.join(base, ref[5:])).strip("/")))
                else:
                    key = ref_key(str(dep_name), ref)
                    if key not in packages:
                        continue
                    bare_name = split_descriptor(_strip_peers(key.lstrip("/")))[0]
                    if bare_name != dep_name:
                        aliased = packages[key]
                        key = f"alias:{dep_name}:{key}"
                        packages[key] = Package(name=aliased.name, version=aliased.version, kind=ALIAS,
                                                url=specifier, hashes=aliased.hashes, line=aliased.line,
                                                alias=str(dep_name), edges=aliased.edges)  # fmt: skip
                roots.append(Root(key, specifier.removeprefix(f"npm:{packages[key].name}@")
                                  if packages[key].kind == ALIAS else specifier,
                                  dev, optional, (section,)))  # fmt: skip
        roots_of["" if str(path) == "." else str(path).strip("/")] = roots
    # A linked workspace member brings its own runtime dependencies along, as npm's tree shows.
    for key, target in links:
        packages[key].edges = [r.key for r in roots_of.get("" if target == "." else target, []) if not r.dev]
    importers = {
        path: walk(NPM, rel, packages, roots, include_unreached=len(importer_map) == 1)
        for path, roots in roots_of.items()
    }
    return Lock(importers)


def _key_lines(text: str) -> dict[str, int]:
    """Map keys at the second indentation level (packages, snapshots, importers) to their line."""
    out: dict[str, int] = {}
    for number, raw in enumerate(text.splitlines(), 1):
        if raw.startswith("  ") and not raw.startswith("   ") and raw.rstrip().endswith(":"):
            key = raw.strip()[:-1]
            if len(key) >= 2 and key[0] == key[-1] and key[0] in "'\"":
                key = key[1:-1]
            out.setdefault(key, number)
    return out
