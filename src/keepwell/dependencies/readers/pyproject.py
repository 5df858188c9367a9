"""Read pyproject.toml: PEP 621, PEP 735 dependency groups, Poetry, PDM and uv sections."""

from __future__ import annotations

import re

from keepwell.dependencies.readers._common import (
    LineFinder,
    Manifest,
    exact_version,
    expect,
    load_toml,
    pep508,
)
from keepwell.dependencies.readers._common import normalize as _normalize
from keepwell.dependencies.types import PATH, PYPI, REGISTRY, URL, VCS, WORKSPACE, Dependency, ReadError

_POETRY_EXACT = re.compile(r"^=?=?\s*v?\d+(\.\d+)*([a-zA-Z0-9.+-]*)$")


def read(text: str, rel: str) -> Manifest:
    """Read the dependencies a pyproject.toml declares."""
    data = load_toml(text, rel)
    finder = LineFinder(text)
    manifest = Manifest()
    tool = expect(data.get("tool", {}), dict, rel, "[tool]")
    uv = expect(tool.get("uv", {}), dict, rel, "[tool.uv]")
    sources = expect(uv.get("sources", {}), dict, rel, "[tool.uv.sources]")
    reader = _Pep508(rel, finder, {_normalize(PYPI, k): v for k, v in sources.items()})

    project = expect(data.get("project", {}), dict, rel, "[project]")
    manifest.name = str(project.get("name", "") or "")
    manifest.python_requires = str(project.get("requires-python", "") or "")
    for text_req in expect(project.get("dependencies", []), list, rel, "[project] dependencies"):
        reader.add(text_req, "[project] dependencies")
    optional = expect(project.get("optional-dependencies", {}), dict, rel, "[project.optional-dependencies]")
    for extra, reqs in optional.items():
        what = f"[project.optional-dependencies] {extra}"
        for text_req in expect(reqs, list, rel, what):
            reader.add(text_req, what, optional=True, groups=(extra,))

    groups = expect(data.get("dependency-groups", {}), dict, rel, "[dependency-groups]")
    for group in groups:
        for text_req in _expand_group(groups, group, rel, finder, ()):
            reader.add(text_req, f"[dependency-groups] {group}", dev=True, groups=(group,))

    for text_req in expect(uv.get("dev-dependencies", []), list, rel, "[tool.uv] dev-dependencies"):
        reader.add(text_req, "[tool.uv] dev-dependencies", dev=True, groups=("dev",))
    workspace = expect(uv.get("workspace", {}), dict, rel, "[tool.uv.workspace]")
    manifest.workspaces = [str(m) for m in expect(workspace.get("members", []), list, rel, "members")]

    pdm = expect(tool.get("pdm", {}), dict, rel, "[tool.pdm]")
    pdm_dev = expect(pdm.get("dev-dependencies", {}), dict, rel, "[tool.pdm.dev-dependencies]")
    for group, reqs in pdm_dev.items():
        what = f"[tool.pdm.dev-dependencies] {group}"
        for text_req in expect(reqs, list, rel, what):
            if isinstance(text_req, str) and text_req.startswith("-e "):
                location = text_req[3:].strip()
                name = (
                    location.split("#egg=")[-1]
                    if "#egg=" in location
                    else location.rstrip("/").split("/")[-1]
                )
                reader.deps.append(
                    Dependency(name=_normalize(PYPI, name.split("[")[0]), ecosystem=PYPI, version=None,
                               dev=True, source=rel, line=finder.find(text_req), kind="editable",
                               url=location, groups=(group,))
                )  # fmt: skip
                continue
            reader.add(text_req, what, dev=True, groups=(group,))

    poetry = expect(tool.get("poetry", {}), dict, rel, "[tool.poetry]")
    if poetry:
        manifest.name = manifest.name or str(poetry.get("name", "") or "")
        _poetry(poetry, rel, finder, manifest, reader)
    manifest.dependencies = reader.deps
    return manifest


def _expand_group(
    groups: dict, group: str, rel: str, finder: LineFinder, trail: tuple[str, ...]
) -> list[str]:
    """Return a PEP 735 group's requirement strings with include-group entries expanded."""
    if group in trail:
        cycle = " -> ".join((*trail, group))
        raise ReadError(
            rel, f"[dependency-groups] include a group in a cycle ({cycle})", finder.find(f"{group} =")
        )
    if group not in groups:
        raise ReadError(rel, f"[dependency-groups] include-group names {group!r}, which is not defined",
                        finder.find(f'"{group}"'))  # fmt: skip
    out: list[str] = []
    for item in expect(groups[group], list, rel, f"[dependency-groups] {group}"):
        if isinstance(item, dict):
            if "include-group" not in item:
                raise ReadError(rel, f"[dependency-groups] {group} has a table without include-group",
                                finder.find(f"{group} ="))  # fmt: skip
            out.extend(_expand_group(groups, str(item["include-group"]), rel, finder, (*trail, group)))
        else:
            out.append(item)
    return out


class _Pep508:
    def __init__(self, rel: str, finder: LineFinder, sources: dict):
        self.rel, self.finder, self.sources = rel, finder, sources
        self.deps: list[Dependency] = []

    def add(self, text: str, what: str, *, dev=False, optional=False, groups=()):
        req = pep508(text, self.rel, self.finder, what)
        name = _normalize(PYPI, req.name)
        kind, url, version = REGISTRY, "", exact_version(req.specifier)
        if req.url:
            kind, url, version = (VCS if req.url.startswith(("git+", "hg+", "svn+", "bzr+")) else
                                  PATH if req.url.startswith("file:") else URL), req.url, None  # fmt: skip
        source = self.sources.get(name)
        if isinstance(source, dict):
            if source.get("workspace"):
                kind, url, version = WORKSPACE, "", None
            elif "path" in source:
                kind, url, version = PATH, str(source["path"]), None
                if source.get("editable"):
                    kind = "editable"
            elif "git" in source:
                kind, url, version = VCS, "git+" + str(source["git"]), None
            elif "url" in source:
                kind, url, version = URL, str(source["url"]), None
        self.deps.append(
            Dependency(
                name=name, ecosystem=PYPI, version=version, specifier=str(req.specifier), dev=dev,
                optional=optional, source=self.rel, line=self.finder.find(text), kind=kind, url=url,
                markers=str(req.marker) if req.marker else "", extras=tuple(sorted(req.extras)), groups=groups,
            )
        )  # fmt: skip


def _poetry(poetry: dict, rel: str, finder: LineFinder, manifest: Manifest, reader: _Pep508):
    sections: list[tuple[str, dict, bool]] = []
    sections.append(
        ("main", expect(poetry.get("dependencies", {}), dict, rel, "[tool.poetry.dependencies]"), False)
    )
    legacy_dev = expect(poetry.get("dev-dependencies", {}), dict, rel, "[tool.poetry.dev-dependencies]")
    sections.append(("dev", legacy_dev, True))
    for group, body in expect(poetry.get("group", {}), dict, rel, "[tool.poetry.group]").items():
        body = expect(body, dict, rel, f"[tool.poetry.group.{group}]")
        sections.append(
            (group, expect(body.get("dependencies", {}), dict, rel, f"group {group}"), group != "main")
        )
    extras_of: dict[str, list[str]] = {}
    for extra, names in expect(poetry.get("extras", {}), dict, rel, "[tool.poetry.extras]").items():
        for name in expect(names, list, rel, f"[tool.poetry.extras] {extra}"):
            extras_of.setdefault(_normalize(PYPI, str(name)), []).append(extra)
    for group, deps, dev in sections:
        for raw_name, spec in deps.items():
            if raw_name == "python" and group == "main":
                manifest.python_requires = manifest.python_requires or _constraint(spec)
                continue
            for one in spec if isinstance(spec, list) else [spec]:
                reader.deps.append(_poetry_dep(raw_name, one, rel, finder, group, dev, extras_of))


def _constraint(spec) -> str:
    if isinstance(spec, dict):
        return str(spec.get("version", ""))
    return str(spec)


def _poetry_dep(raw_name, spec, rel, finder, group, dev, extras_of) -> Dependency:
    name = _normalize(PYPI, raw_name)
    line = finder.find(f"{raw_name} =") or finder.find(raw_name)
    if not isinstance(spec, str | dict):
        raise ReadError(rel, f"dependency {raw_name!r} should be a version string or a table", line)
    table = spec if isinstance(spec, dict) else {"version": spec}
    kind, url = REGISTRY, ""
    if "git" in table:
        kind, url = VCS, "git+" + str(table["git"]) + (f"@{table['rev']}" if table.get("rev") else "")
    elif "path" in table:
        kind, url = ("editable" if table.get("develop") else PATH), str(table["path"])
    elif "url" in table:
        kind, url = URL, str(table["url"])
    specifier = str(table.get("version", "") or "")
    version = None
    if kind == REGISTRY and _POETRY_EXACT.match(specifier.strip()) and "*" not in specifier:
        version = specifier.strip().lstrip("=").strip().lstrip("v")
    optional = bool(table.get("optional", False))
    return Dependency(
        name=name, ecosystem=PYPI, version=version, specifier=specifier, dev=dev, optional=optional,
        source=rel, line=line, kind=kind, url=url, markers=str(table.get("markers", "") or ""),
        extras=tuple(sorted(str(e) for e in table.get("extras", []) or [])),
        groups=tuple(extras_of.get(name, [])) if optional and group == "main" else (group,),
    )  # fmt: skip
