"""Read a Pipfile: [packages] and [dev-packages]."""

from __future__ import annotations

from keepwell.dependencies.readers._common import LineFinder, Manifest, expect, load_toml, normalize
from keepwell.dependencies.types import EDITABLE, PATH, PYPI, REGISTRY, URL, VCS, Dependency


def read(text: str, rel: str) -> Manifest:
    """Read the dependencies a Pipfile declares."""
    data = load_toml(text, rel)
    finder = LineFinder(text)
    manifest = Manifest()
    requires = data.get("requires") if isinstance(data.get("requires"), dict) else {}
    if requires.get("python_version") or requires.get("python_full_version"):
        manifest.python_requires = "==" + str(requires.get("python_full_version") or requires["python_version"]) + (
            "" if requires.get("python_full_version") else ".*")  # fmt: skip
    for section, dev in (("packages", False), ("dev-packages", True)):
        for raw_name, spec in expect(data.get(section, {}), dict, rel, f"[{section}]").items():
            table = spec if isinstance(spec, dict) else {"version": str(spec)}
            specifier = str(table.get("version", "") or "")
            specifier = "" if specifier == "*" else specifier
            kind, url = REGISTRY, ""
            for vcs in ("git", "hg", "svn", "bzr"):
                if vcs in table:
                    kind, url = VCS, f"{vcs}+{table[vcs]}"
            if "path" in table:
                kind, url = (EDITABLE if table.get("editable") else PATH), str(table["path"])
            elif "file" in table:
                kind, url = URL, str(table["file"])
            version = (
                specifier[2:]
                if specifier.startswith("==") and "*" not in specifier and "," not in specifier
                else None
            )
            manifest.dependencies.append(
                Dependency(name=normalize(PYPI, raw_name), ecosystem=PYPI, version=version, specifier=specifier,
                           dev=dev, source=rel, line=finder.find(f"{raw_name} =") or finder.find(raw_name),
                           kind=kind, url=url, markers=str(table.get("markers", "") or ""),
                           extras=tuple(sorted(str(e) for e in table.get("extras", []) or [])), groups=(section,))
            )  # fmt: skip
    return manifest
