"""Read Pipfile.lock: the "default" and "develop" sections (a flat list; the Pipfile says what is direct)."""

from __future__ import annotations

import json

from keepwell.dependencies.readers._common import LineFinder, Lock, Manifest, expect, load_json, normalize
from keepwell.dependencies.types import EDITABLE, PATH, PYPI, REGISTRY, URL, VCS, Dependency, ReadError


def read(text: str, rel: str, manifests: dict[str, Manifest] | None = None) -> Lock:
    """Read a Pipfile.lock; packages only in "develop" are dev."""
    data = expect(load_json(text, rel), dict, rel, "the top level")
    if "_meta" not in data and "default" not in data and "develop" not in data:
        raise ReadError(rel, 'has no "_meta", "default" or "develop"; it does not look like a Pipfile.lock')
    finder = LineFinder(text)
    out: dict[str, Dependency] = {}
    for section in ("default", "develop"):
        body = expect(data.get(section, {}), dict, rel, f'"{section}"')
        section_at = text.find(f'"{section}"')
        for raw_name, entry in body.items():
            offset = text.find(json.dumps(raw_name) + ":", max(section_at, 0))
            line = finder.line_of(offset) if offset >= 0 else None
            entry = expect(entry, dict, rel, f'"{raw_name}" in "{section}"', line)
            name = normalize(PYPI, raw_name)
            if name in out:  # in both sections: the runtime entry stands
                continue
            kind, url, version = REGISTRY, "", None
            spec = str(entry.get("version", "") or "")
            if spec.startswith("==") and "*" not in spec:
                version = spec[2:].strip()
            for vcs in ("git", "hg", "svn", "bzr"):
                if vcs in entry:
                    kind, url, version = (
                        VCS,
                        f"{vcs}+{entry[vcs]}" + (f"@{entry['ref']}" if entry.get("ref") else ""),
                        None,
                    )
            if "path" in entry:
                kind, url, version = (EDITABLE if entry.get("editable") else PATH), str(entry["path"]), None
            elif "file" in entry:
                kind, url, version = URL, str(entry["file"]), None
            out[name] = Dependency(
                name=name, ecosystem=PYPI, version=version, specifier=spec, direct=False, dev=section == "develop",
                source=rel, line=line, kind=kind, url=url, markers=str(entry.get("markers", "") or ""),
                extras=tuple(sorted(str(e) for e in entry.get("extras", []) or [])),
                hashes=tuple(str(h) for h in entry.get("hashes", []) or []),
            )  # fmt: skip
    return Lock({"": list(out.values())}, knows_direct=False)
