"""A CycloneDX 1.6 JSON SBOM of a service: components with purls, known vulnerabilities and the team's VEX.

Built with cyclonedx-python-lib (OWASP's own library); no Django here.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from cyclonedx.model.bom import Bom
from cyclonedx.model.component import Component, ComponentScope, ComponentType
from cyclonedx.model.vulnerability import (
    BomTarget,
    ImpactAnalysisJustification,
    ImpactAnalysisState,
    Vulnerability,
    VulnerabilityAnalysis,
    VulnerabilityRating,
    VulnerabilityReference,
    VulnerabilityScoreSource,
    VulnerabilitySeverity,
    VulnerabilitySource,
)
from cyclonedx.output.json import JsonV1Dot6
from packageurl import PackageURL

from keepwell.dependencies.types import NPM, PYPI, Dependency

from . import cvss

# The team's VEX states, and what CycloneDX calls them.
VEX_STATES = {
    "affected": ImpactAnalysisState.EXPLOITABLE,
    "not_affected": ImpactAnalysisState.NOT_AFFECTED,
    "under_investigation": ImpactAnalysisState.IN_TRIAGE,
    "false_positive": ImpactAnalysisState.FALSE_POSITIVE,
}
JUSTIFICATIONS = tuple(j.value for j in ImpactAnalysisJustification)
_SEVERITY = {
    cvss.CRITICAL: VulnerabilitySeverity.CRITICAL,
    cvss.HIGH: VulnerabilitySeverity.HIGH,
    cvss.MEDIUM: VulnerabilitySeverity.MEDIUM,
    cvss.LOW: VulnerabilitySeverity.LOW,
    cvss.UNKNOWN: VulnerabilitySeverity.UNKNOWN,
}
_METHOD = {
    "CVSSv4": VulnerabilityScoreSource.CVSS_V4,
    "CVSSv31": VulnerabilityScoreSource.CVSS_V3_1,
    "CVSSv3": VulnerabilityScoreSource.CVSS_V3,
    "CVSSv2": VulnerabilityScoreSource.CVSS_V2,
}
OSV = VulnerabilitySource(name="OSV", url="https://osv.dev")


@dataclass(frozen=True)
class VexStatement:
    """A team's decision about one vulnerability, for one package ("" for every package it affects)."""

    vulnerability: str
    state: str  # a key of VEX_STATES
    justification: str = ""  # one of JUSTIFICATIONS; required for not_affected
    detail: str = ""
    package: str = ""
    first_issued: datetime | None = None
    last_updated: datetime | None = None

    def applies_to(self, ids: Iterable[str], package: str) -> bool:
        return self.vulnerability in set(ids) and (not self.package or self.package == package)


def purl(dep_or_name, ecosystem: str | None = None, version: str | None = None) -> str:
    """Return the package URL of a dependency (pkg:pypi/name@version, pkg:npm/%40scope/name@version)."""
    if isinstance(dep_or_name, Dependency):
        name, ecosystem, version = dep_or_name.name, dep_or_name.ecosystem, dep_or_name.version
    else:
        name = dep_or_name
    if ecosystem == NPM and name.startswith("@") and "/" in name:
        namespace, short = name.split("/", 1)
        return PackageURL(type="npm", namespace=namespace, name=short, version=version).to_string()
    kind = "pypi" if ecosystem == PYPI else "npm" if ecosystem == NPM else "generic"
    return PackageURL(type=kind, name=name, version=version).to_string()


def _method(vector: str) -> VulnerabilityScoreSource:
    if vector.startswith("CVSS:4"):
        return _METHOD["CVSSv4"]
    if vector.startswith("CVSS:3.1"):
        return _METHOD["CVSSv31"]
    if vector.startswith("CVSS:3"):
        return _METHOD["CVSSv3"]
    return _METHOD["CVSSv2"] if vector else VulnerabilityScoreSource.OTHER


def build(
    name: str, dependencies: Iterable[Dependency], found=(), vex: Iterable[VexStatement] = (), version=None
) -> Bom:
    """Return the SBOM of `name`: one component per package version, its vulnerabilities and VEX analysis."""
    bom = Bom()
    root = Component(name=name, version=version, type=ComponentType.APPLICATION, bom_ref=f"service:{name}")
    bom.metadata.component = root
    components: dict[str, Component] = {}
    direct: set[str] = set()
    for dep in dependencies:
        if dep.ecosystem not in (PYPI, NPM) or dep.kind not in ("registry", "alias"):
            continue
        ref = purl(dep)
        if dep.direct:
            direct.add(ref)
        existing = components.get(ref)
        if existing is not None:
            if existing.scope == ComponentScope.OPTIONAL and not dep.dev:
                existing.scope = ComponentScope.REQUIRED
            continue
        components[ref] = Component(
            name=dep.name,
            version=dep.version,
            purl=PackageURL.from_string(ref),
            bom_ref=ref,
            scope=ComponentScope.OPTIONAL if dep.dev else ComponentScope.REQUIRED,
        )
    for component in components.values():
        bom.components.add(component)
    # What the application depends on directly; the lockfiles do not always say who pulls in the rest.
    bom.register_dependency(root, [components[ref] for ref in sorted(direct)])
    vex = list(vex)
    for f in found:
        v = f.vulnerability
        ref = purl(v.package, v.ecosystem, v.version)
        if ref not in components:
            continue
        rating = VulnerabilityRating(
            source=OSV,
            severity=_SEVERITY.get(v.severity, VulnerabilitySeverity.UNKNOWN),
            score=Decimal(str(v.cvss_score)) if v.cvss_score is not None else None,
            method=_method(v.cvss_vector) if v.cvss_vector else VulnerabilityScoreSource.OTHER,
            vector=v.cvss_vector or None,
        )
        analysis = None
        ids = [v.id, *v.aliases]
        statement = next((s for s in vex if s.package and s.applies_to(ids, v.package)), None) or next(
            (s for s in vex if not s.package and s.applies_to(ids, v.package)), None
        )
        if statement is not None:
            analysis = VulnerabilityAnalysis(
                state=VEX_STATES[statement.state],
                justification=ImpactAnalysisJustification(statement.justification)
                if statement.justification
                else None,
                detail=statement.detail or None,
                first_issued=statement.first_issued,
                last_updated=statement.last_updated,
            )
        recommendation = (
            f"Upgrade {v.package} to {v.fixed_in} or later." if v.fixed_in else "No fixed version is known."
        )
        bom.vulnerabilities.add(
            Vulnerability(
                bom_ref=f"{v.id}:{ref}",
                id=v.id,
                source=OSV,
                description=v.summary or None,
                recommendation=recommendation,
                ratings=[rating],
                analysis=analysis,
                affects=[BomTarget(ref=ref)],
                # Aliases are references in CycloneDX terms: the same vulnerability in other databases.
                references=[
                    VulnerabilityReference(
                        id=alias,
                        source=VulnerabilitySource(name="OSV", url=f"https://osv.dev/vulnerability/{alias}"),
                    )
                    for alias in v.aliases
                ],
            )
        )
    return bom


def to_json(bom: Bom) -> str:
    """Return the SBOM as CycloneDX 1.6 JSON."""
    return JsonV1Dot6(bom).output_as_string(indent=2)
