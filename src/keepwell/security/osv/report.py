"""Render a vulnerability scan as a table, JSON or SARIF 2.1.0; no Django here."""

from __future__ import annotations

import hashlib
import json

from keepwell.security import cvss

SARIF_SCHEMA = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
SARIF_LEVEL = {
    cvss.CRITICAL: "error",
    cvss.HIGH: "error",
    cvss.MEDIUM: "warning",
    cvss.LOW: "note",
    cvss.UNKNOWN: "warning",
}
# GitHub code scanning reads properties.security-severity (a CVSS-like number) to rank results.
SECURITY_SEVERITY = {cvss.CRITICAL: 9.5, cvss.HIGH: 8.0, cvss.MEDIUM: 5.5, cvss.LOW: 2.0}


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("keepwell")
    except PackageNotFoundError:
        return "0"


def as_json(report) -> dict:
    """Return the scan as the pinned JSON document ({"vulnerabilities": [...]} and more)."""
    return {
        "vulnerabilities": [f.as_dict() for f in report.found],
        "unpinned": [
            {
                "package": d.name,
                "ecosystem": d.ecosystem,
                "specifier": d.specifier,
                "source": d.source,
                "line": d.line,
            }
            for d in report.unpinned
        ],
        "not_checked": [
            {"package": d.name, "ecosystem": d.ecosystem, "kind": d.kind, "source": d.source, "line": d.line}
            for d in report.not_checked
        ],
        "errors": [{"file": e.file, "line": e.line, "message": e.message} for e in report.errors],
        "summary": {
            "dependencies_checked": report.checked,
            "vulnerabilities": len(report.found),
            "by_severity": {
                s: sum(1 for f in report.found if f.vulnerability.severity == s) for s in cvss.SEVERITIES
            },
        },
        "database": report.database,
    }


def _clip(text: str, width: int) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= width else text[: width - 1] + "…"


def as_table(report) -> str:
    """Return the scan as a plain-text table for people."""
    lines = []
    if report.found:
        rows = [("SEVERITY", "PACKAGE", "VERSION", "VULNERABILITY", "FIXED IN", "WHERE", "SUMMARY")]
        for f in report.found:
            v = f.vulnerability
            loc = f.locations[0] if f.locations else None
            where = f"{loc.file}:{loc.line}" if loc and loc.line else (loc.file if loc else "")
            rows.append(
                (
                    v.severity.upper() + (" (malicious)" if v.malicious else ""),
                    _clip(v.package, 40),
                    _clip(v.version, 20),
                    v.id,
                    v.fixed_in or "no fix",
                    _clip(where, 40),
                    _clip(v.summary, 60),
                )
            )
        widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
        for row in rows:
            lines.append("  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip())
        lines.append("")
        upgrades = {}
        for f in report.found:
            upgrades.setdefault((f.vulnerability.package, f.vulnerability.version), f.package_fixed_in)
        fixable = [(p, v, fix) for (p, v), fix in upgrades.items() if fix]
        if fixable:
            lines.append("Upgrades that clear every known vulnerability of a package:")
            lines.extend(f"  {p} {v} -> {fix}" for p, v, fix in fixable)
            lines.append("")
    counts = ", ".join(
        f"{n} {s}"
        for s in cvss.SEVERITIES
        if (n := sum(1 for f in report.found if f.vulnerability.severity == s))
    )
    lines.append(
        f"{len(report.found)} known vulnerabilities in {report.checked} pinned dependencies"
        + (f" ({counts})" if counts else "")
        + "."
    )
    if report.unpinned:
        names = ", ".join(sorted({d.name for d in report.unpinned})[:10])
        more = "…" if len({d.name for d in report.unpinned}) > 10 else ""
        lines.append(
            f"{len(report.unpinned)} dependencies are declared with a range only and were not checked "
            f"(pin them or commit a lockfile): {names}{more}"
        )
    if report.not_checked:
        lines.append(
            f"{len(report.not_checked)} dependencies come from a URL, VCS or path and were not checked."
        )
    for error in report.errors:
        lines.append(f"Could not read {error}")
    lines.append(f"Vulnerability data: {report.database}")
    return "\n".join(lines) + "\n"


def as_sarif(report) -> dict:
    """Return the scan as a SARIF 2.1.0 log: one rule per vulnerability, one result per place it is declared."""
    rules, index = [], {}
    results = []
    for f in report.found:
        v = f.vulnerability
        if v.id not in index:
            index[v.id] = len(rules)
            score = v.cvss_score if v.cvss_score is not None else SECURITY_SEVERITY.get(v.severity)
            properties = {"tags": ["security", "vulnerability", "dependency"], "severity": v.severity}
            if score is not None:
                properties["security-severity"] = f"{score:.1f}"
            if v.aliases:
                properties["aliases"] = v.aliases
            rules.append(
                {
                    "id": v.id,
                    "name": v.id.replace("-", ""),
                    "shortDescription": {"text": _clip(v.summary or v.id, 200)},
                    "fullDescription": {"text": v.summary or f"{v.id} (no summary given)"},
                    "helpUri": v.url,
                    "help": {"text": f"See {v.url}. Aliases: {', '.join(v.aliases) or 'none'}."},
                    "defaultConfiguration": {"level": SARIF_LEVEL.get(v.severity, "warning")},
                    "properties": properties,
                }
            )
        fix = f"Upgrade to {v.fixed_in} or later." if v.fixed_in else "No fixed version is known."
        message = (
            f"{v.package} {v.version} is affected by {v.id} ({v.severity}): {_clip(v.summary, 200)} {fix}"
        )
        locations = []
        for loc in f.locations or []:
            physical = {"artifactLocation": {"uri": loc.file or ".", "uriBaseId": "%SRCROOT%"}}
            if loc.line:
                physical["region"] = {"startLine": loc.line}
            locations.append({"physicalLocation": physical})
        identity = f"{v.ecosystem}/{v.package}@{v.version}/{v.id}"
        results.append(
            {
                "ruleId": v.id,
                "ruleIndex": index[v.id],
                "level": SARIF_LEVEL.get(v.severity, "warning"),
                "message": {"text": message},
                "locations": locations,
                "partialFingerprints": {"package/v1": hashlib.sha256(identity.encode()).hexdigest()[:32]},
                "properties": {
                    "package": v.package,
                    "version": v.version,
                    "ecosystem": v.ecosystem,
                    "fixed_in": v.fixed_in,
                    "aliases": v.aliases,
                },
            }
        )
    return {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "keepwell security scan",
                        "informationUri": "https://osv.dev",
                        "version": _version(),
                        "rules": rules,
                    }
                },
                "originalUriBaseIds": {"%SRCROOT%": {"description": {"text": "The scanned folder."}}},
                "results": results,
            }
        ],
    }


def dumps(document: dict) -> str:
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"
