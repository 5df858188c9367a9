"""Read package.json: dependency sections, workspaces and engines.node."""

from __future__ import annotations

import json
import re

from keepwell.dependencies.readers._common import LineFinder, Manifest, expect, load_json
from keepwell.dependencies.types import ALIAS, NPM, PATH, REGISTRY, URL, VCS, WORKSPACE, Dependency

SECTIONS = ("dependencies", "devDependencies", "optionalDependencies", "peerDependencies")
_EXACT = re.compile(r"^[=v]?\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$")
_GITHUB_SHORT = re.compile(r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+(#.*)?$")


def classify(spec: str) -> tuple[str, str, str, str | None]:
    """Return (kind, real name or "", range, exact version) for an npm dependency specifier."""
    spec = spec.strip()
    if spec.startswith("npm:"):
        real, _, rng = spec[4:].rpartition("@") if spec[4:].rfind("@") > 0 else (spec[4:], "", "")
        return ALIAS, real, rng, exact(rng)
    if spec.startswith("workspace:"):
        return WORKSPACE, "", spec, None
    if spec.startswith(("file:", "link:", "portal:", ".", "/", "~/")):
        return PATH, "", spec, None
    if spec.startswith(
        ("git+", "git:", "git@", "github:", "gitlab:", "bitbucket:", "gist:")
    ) or _GITHUB_SHORT.match(spec):
        return VCS, "", spec, None
    if spec.startswith(("http://", "https://")):
        return URL, "", spec, None
    return REGISTRY, "", spec, exact(spec)


def exact(spec: str) -> str | None:
    """Return the version an npm range pins exactly ("1.2.3", "=1.2.3"), else None."""
    spec = spec.strip()
    return spec.lstrip("=v") if _EXACT.match(spec) else None


def read(text: str, rel: str) -> Manifest:
    """Read the dependencies a package.json declares."""
    data = expect(load_json(text, rel), dict, rel, "the top level")
    finder = LineFinder(text)
    manifest = Manifest(name=str(data.get("name", "") or ""))
    engines = data.get("engines")
    if isinstance(engines, dict) and isinstance(engines.get("node"), str):
        manifest.node_engines = engines["node"]
    workspaces = data.get("workspaces")
    if isinstance(workspaces, dict):
        workspaces = workspaces.get("packages")
    if isinstance(workspaces, list):
        manifest.workspaces = [str(w) for w in workspaces]
    peer_meta = data.get("peerDependenciesMeta") if isinstance(data.get("peerDependenciesMeta"), dict) else {}
    seen: dict[str, int] = {}
    for section in SECTIONS:
        body = expect(data.get(section, {}) or {}, dict, rel, f'"{section}"')
        section_at = text.find(f'"{section}"')
        for key, spec in body.items():
            offset = text.find(json.dumps(key), max(section_at, 0))
            line = finder.line_of(offset) if offset >= 0 else None
            spec = expect(spec, str, rel, f'"{key}" in "{section}"', line)
            kind, real, rng, version = classify(spec)
            optional = section == "optionalDependencies" or (
                section == "peerDependencies" and bool((peer_meta.get(key) or {}).get("optional"))
            )
            dep = Dependency(
                name=real or key, ecosystem=NPM, version=version, specifier=rng, dev=section == "devDependencies",
                optional=optional, source=rel, line=line, kind=kind,
                url=spec if kind in (ALIAS, PATH, VCS, URL, WORKSPACE) else "", groups=(section,),
                alias=key if kind == ALIAS else "",
            )  # fmt: skip
            if key in seen:
                # npm: a name in optionalDependencies overrides dependencies; dev and peer entries
                # of a runtime dependency add nothing.
                if section == "optionalDependencies":
                    manifest.dependencies[seen[key]] = dep
                continue
            seen[key] = len(manifest.dependencies)
            manifest.dependencies.append(dep)
    return manifest
