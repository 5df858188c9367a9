"""Grade the web posture of an HTTPS URL from observed facts, in the spirit of Mozilla's HTTP Observatory.

Start at 100; each test adds a modifier (penalties, and bonuses that count only when the score before
bonuses is 90 or more, as the Observatory does); the total maps to a grade from A+ to F. Every modifier
comes with a plain reason. The table of modifiers is documented in docs/security.md ("Web posture and
grades"). Pure: no Django import, no network (posture_probe.py gathers the facts).
"""

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta

MAX_HEADER = 16_384  # longer header values are graded as invalid rather than parsed
MAX_COOKIES = 100
SIX_MONTHS = 15_768_000  # seconds, the HSTS max-age the Observatory asks for
GRADES = [(100, "A+"), (90, "A"), (85, "A-"), (80, "B+"), (70, "B"), (65, "B-"), (60, "C+"), (50, "C"),
          (45, "C-"), (40, "D+"), (30, "D"), (25, "D-"), (0, "F")]  # fmt: skip
TLS_VERSIONS = ("TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3")
SESSION_NAMES = re.compile(r"sess|sid$|^sid|auth|token|login", re.I)
CSRF_NAMES = re.compile(r"csrf|xsrf", re.I)
PRIVATE_REFERRER = {"no-referrer", "same-origin", "strict-origin", "strict-origin-when-cross-origin"}
UNSAFE_REFERRER = {"unsafe-url", "no-referrer-when-downgrade", "origin", "origin-when-cross-origin"}


@dataclass
class Observation:
    """What a probe saw at one URL; None means not observed (e.g. the HTTP request failed)."""

    url: str
    now: datetime
    headers: dict[str, list[str]] = field(default_factory=dict)  # lower-case name -> values in order
    status_code: int | None = None
    tls_versions: dict[str, bool] = field(default_factory=dict)  # "TLSv1.2" -> offered
    cert_not_after: datetime | None = None
    cert_error: str = ""  # why the chain or the host name did not verify; "" when it did
    error: str = ""  # why nothing could be fetched
    final_url: str = ""  # where the redirects (if any) ended
    redirect_to_http: str = ""  # a redirect to plain HTTP, which the probe does not follow


@dataclass(frozen=True)
class Reason:
    test: str  # e.g. "hsts", "csp", "cookies"
    modifier: int
    text: str

    def as_dict(self) -> dict:
        return {"test": self.test, "modifier": self.modifier, "text": self.text}


@dataclass
class Grade:
    score: int
    grade: str
    reasons: list[Reason]

    def as_dict(self) -> dict:
        return {"score": self.score, "grade": self.grade, "reasons": [r.as_dict() for r in self.reasons]}


def letter(score: int) -> str:
    """Return the letter grade of a score (A+ at 100 and above, F below 25)."""
    return next(g for floor, g in GRADES if score >= floor)


# --- Header parsers (each takes hostile input: anything a server may send) --------------------------------


def _one(headers: dict[str, list[str]], name: str) -> str | None:
    values = headers.get(name) or []
    return ", ".join(v for v in values) if values else None


def parse_hsts(value: str) -> dict | None:
    """Return {"max_age", "include_subdomains", "preload"} from a Strict-Transport-Security value, None if invalid."""
    if len(value) > MAX_HEADER:
        return None
    seen: dict[str, str | None] = {}
    for part in value.split(";"):
        name, eq, arg = part.strip().partition("=")
        name = name.strip().lower()
        if not name:
            continue
        if name in seen:
            return None  # RFC 6797 6.1: a directive appearing twice makes the header invalid
        seen[name] = arg.strip().strip('"') if eq else None
    age = seen.get("max-age")
    if age is None or not age.isdigit() or len(age) > 12:
        return None
    return {
        "max_age": int(age),
        "include_subdomains": "includesubdomains" in seen,
        "preload": "preload" in seen,
    }


def parse_csp(value: str) -> list[dict[str, list[str]]] | None:
    """Return the policies of a Content-Security-Policy value (directive -> sources), None if unparsable."""
    if len(value) > MAX_HEADER:
        return None
    policies = []
    for text in value.split(","):
        policy: dict[str, list[str]] = {}
        for part in text.split(";"):
            tokens = part.split()
            if not tokens:
                continue
            name = tokens[0].lower()
            if not re.fullmatch(r"[a-z0-9-]+", name):
                return None
            policy.setdefault(name, [t.lower() for t in tokens[1:]])  # the first of a repeated one counts
        if policy:
            policies.append(policy)
    return policies or None


@dataclass(frozen=True)
class Cookie:
    name: str
    secure: bool
    httponly: bool
    samesite: str  # "", "lax", "strict", "none"


def parse_set_cookie(value: str) -> Cookie | None:
    """Return the name and flags of one Set-Cookie value, None if it has no name."""
    if len(value) > MAX_HEADER:
        value = value[:MAX_HEADER]
    first, *attributes = value.split(";")
    name, eq, _ = first.partition("=")
    name = name.strip()
    if not eq or not name:
        return None
    flags: dict[str, str] = {}
    for attribute in attributes:
        key, _, arg = attribute.strip().partition("=")
        flags.setdefault(key.strip().lower(), arg.strip().lower())
    return Cookie(name[:200], "secure" in flags, "httponly" in flags, flags.get("samesite", ""))


def _sources(policy: dict[str, list[str]], directive: str) -> list[str] | None:
    if directive in policy:
        return policy[directive]
    return policy.get("default-src")


# --- The tests --------------------------------------------------------------------------------------------


def _tls(obs: Observation) -> list[Reason]:
    out = []
    if obs.cert_not_after is not None:
        left = obs.cert_not_after - obs.now
        date = f"{obs.cert_not_after:%Y-%m-%d}"
        if left <= timedelta(0):
            out.append(Reason("certificate", -100, f"The certificate expired on {date}. Renew it now."))
        elif left < timedelta(days=14):
            out.append(Reason("certificate", -20, f"The certificate expires on {date}, in {left.days} days. "
                                                  "Renew it (is automatic renewal failing?)."))  # fmt: skip
        elif left < timedelta(days=30):
            out.append(Reason("certificate", -5, f"The certificate expires on {date}, in {left.days} days."))
        else:
            out.append(Reason("certificate", 0, f"The certificate is valid until {date}."))
    if obs.cert_error:
        out.append(Reason("certificate", -50, f"The certificate does not verify: {obs.cert_error}. Browsers "
                                              "will refuse the site; serve the full chain for this host name."))  # fmt: skip
    offered = [v for v in TLS_VERSIONS if obs.tls_versions.get(v)]
    if obs.tls_versions:
        old = [v for v in ("TLSv1", "TLSv1.1") if obs.tls_versions.get(v)]
        if old:
            names = " and ".join("TLS 1.0" if v == "TLSv1" else "TLS 1.1" for v in old)
            out.append(Reason("tls", -10, f"{names} {'are' if len(old) > 1 else 'is'} offered; both are "
                                          "deprecated (RFC 8996). Disable them."))  # fmt: skip
        if not (obs.tls_versions.get("TLSv1.2") or obs.tls_versions.get("TLSv1.3")):
            out.append(Reason("tls", -40, "Neither TLS 1.2 nor TLS 1.3 is offered. Enable TLS 1.2 and 1.3."))
        elif not old:
            shown = ", ".join(v.replace("TLSv", "TLS ") for v in offered)
            out.append(Reason("tls", 0, f"Only current TLS versions are offered ({shown})."))
    return out


def _redirects(obs: Observation) -> list[Reason]:
    if obs.redirect_to_http:
        return [Reason("redirection", -20, f"The page redirects to plain HTTP ({obs.redirect_to_http[:100]}). "
                                           "Redirect to https:// only.")]  # fmt: skip
    return []


def _hsts(obs: Observation) -> list[Reason]:
    value = _one(obs.headers, "strict-transport-security")
    if value is None:
        return [Reason("hsts", -20, "No Strict-Transport-Security header: browsers may still use plain HTTP. "
                                    "Send max-age=31536000 (a year).")]  # fmt: skip
    hsts = parse_hsts(value)
    if hsts is None:
        return [Reason("hsts", -20, "The Strict-Transport-Security header is invalid (it needs one numeric "
                                    "max-age); browsers ignore it.")]  # fmt: skip
    if hsts["max_age"] < SIX_MONTHS:
        return [Reason("hsts", -10, f"HSTS max-age is {hsts['max_age']} seconds, under six months "
                                    f"({SIX_MONTHS}). Raise it to a year.")]  # fmt: skip
    extra = "with includeSubDomains" if hsts["include_subdomains"] else "without includeSubDomains"
    return [Reason("hsts", 0, f"HSTS is set for {hsts['max_age'] // 86400} days, {extra}.")]


def _csp(obs: Observation) -> list[Reason]:
    value = _one(obs.headers, "content-security-policy")
    if value is None:
        return [Reason("csp", -25, "No Content-Security-Policy header: nothing limits where scripts come from. "
                                   "Start with default-src 'self'.")]  # fmt: skip
    policies = parse_csp(value)
    if policies is None:
        return [
            Reason("csp", -25, "The Content-Security-Policy header cannot be parsed; browsers may ignore it.")
        ]
    out = []

    def everywhere(check) -> bool:
        # Several policies are all enforced: something is allowed only if every policy allows it.
        return all(check(p) for p in policies)

    def allows_inline(policy) -> bool:
        sources = _sources(policy, "script-src")
        if sources is None:
            return True
        nonce_or_hash = any(s.startswith(("'nonce-", "'sha256-", "'sha384-", "'sha512-")) for s in sources)
        return "'unsafe-inline'" in sources and not nonce_or_hash

    def allows_anywhere(policy) -> bool:
        sources = _sources(policy, "script-src")
        return sources is None or any(s in ("*", "http:", "https:", "data:") for s in sources)

    if everywhere(allows_inline):
        out.append(Reason("csp", -20, "The CSP allows inline scripts (no script-src or default-src, or "
                                      "'unsafe-inline' without a nonce or hash), so it does not stop XSS."))  # fmt: skip
    elif everywhere(allows_anywhere):
        out.append(Reason("csp", -10, "The CSP lets scripts load from any host (*, http: or https:)."))
    if everywhere(lambda p: "'unsafe-eval'" in (_sources(p, "script-src") or [])):
        out.append(Reason("csp", -10, "The CSP allows 'unsafe-eval' in script-src."))
    if not out:
        if any(p.get("default-src") == ["'none'"] for p in policies):
            out.append(
                Reason("csp", 10, "The CSP starts from default-src 'none' and allows no inline script.")
            )
        else:
            out.append(Reason("csp", 0, "The CSP allows no inline script and no script from any host."))
    return out


def _frames(obs: Observation) -> list[Reason]:
    policies = parse_csp(_one(obs.headers, "content-security-policy") or "") or []
    ancestors = [p["frame-ancestors"] for p in policies if "frame-ancestors" in p]
    if ancestors and all("*" not in a and "https:" not in a and "http:" not in a for a in ancestors):
        return [Reason("frames", 5, f"CSP frame-ancestors {' '.join(ancestors[0]) or chr(39) + 'none' + chr(39)} "
                                    "limits who may frame the page.")]  # fmt: skip
    xfo = _one(obs.headers, "x-frame-options")
    if xfo is None:
        return [Reason("frames", -20, "Neither X-Frame-Options nor CSP frame-ancestors: other sites may frame "
                                      "the page (clickjacking). Send frame-ancestors 'none' or X-Frame-Options: "
                                      "DENY.")]  # fmt: skip
    if xfo.strip().lower() not in ("deny", "sameorigin"):
        return [Reason("frames", -20, f"X-Frame-Options {xfo[:40]!r} is not DENY or SAMEORIGIN; browsers ignore "
                                      "it.")]  # fmt: skip
    return [Reason("frames", 0, f"X-Frame-Options is {xfo.strip().upper()}.")]


def _nosniff(obs: Observation) -> list[Reason]:
    value = _one(obs.headers, "x-content-type-options")
    if value is None:
        return [Reason("x-content-type-options", -5, "No X-Content-Type-Options: nosniff header.")]
    if value.strip().lower() != "nosniff":
        return [
            Reason("x-content-type-options", -5, f"X-Content-Type-Options is {value[:40]!r}, not nosniff.")
        ]
    return [Reason("x-content-type-options", 0, "X-Content-Type-Options is nosniff.")]


def _referrer(obs: Observation) -> list[Reason]:
    value = _one(obs.headers, "referrer-policy")
    if value is None:
        return []
    # The last policy a browser understands wins.
    last = [p.strip().lower() for p in value.split(",") if p.strip()][-1:] or [""]
    if last[0] in PRIVATE_REFERRER:
        return [Reason("referrer-policy", 5, f"Referrer-Policy {last[0]} keeps URLs private.")]
    if last[0] in UNSAFE_REFERRER:
        return [Reason("referrer-policy", -5, f"Referrer-Policy {last[0]} leaks URLs to other sites.")]
    return []


def _cookies(obs: Observation) -> list[Reason]:
    values = (obs.headers.get("set-cookie") or [])[:MAX_COOKIES]
    cookies = [c for c in (parse_set_cookie(v) for v in values) if c is not None]
    if not cookies:
        return []
    out = []
    sessions = [c for c in cookies if SESSION_NAMES.search(c.name) and not CSRF_NAMES.search(c.name)]
    insecure = [c.name for c in cookies if not c.secure]
    if insecure:
        session_insecure = [c.name for c in sessions if not c.secure]
        penalty = -40 if session_insecure else -20
        out.append(Reason("cookies", penalty, f"Cookies without the Secure flag: {', '.join(insecure[:5])}. "
                                              "They can leak over plain HTTP."))  # fmt: skip
    no_httponly = [c.name for c in sessions if not c.httponly]
    if no_httponly:
        out.append(Reason("cookies", -30, f"Session cookies without HttpOnly: {', '.join(no_httponly[:5])}. "
                                          "Scripts (and XSS) can read them."))  # fmt: skip
    no_samesite = [c.name for c in cookies if c.samesite not in ("lax", "strict")]
    if not out:
        if no_samesite:
            out.append(Reason("cookies", 0, f"Cookies are Secure (sessions HttpOnly); without SameSite Lax or "
                                            f"Strict: {', '.join(no_samesite[:5])}."))  # fmt: skip
        else:
            out.append(
                Reason("cookies", 5, "Every cookie is Secure and SameSite (session cookies HttpOnly).")
            )
    return out


def grade(obs: Observation) -> Grade:
    """Return the score, grade and reasons of one observation."""
    if obs.error:
        return Grade(0, "F", [Reason("fetch", -100, obs.error)])
    reasons = [
        *_tls(obs),
        *_redirects(obs),
        *_hsts(obs),
        *_csp(obs),
        *_frames(obs),
        *_nosniff(obs),
        *_referrer(obs),
        *_cookies(obs),
    ]
    base = 100 + sum(r.modifier for r in reasons if r.modifier < 0)
    bonus = sum(r.modifier for r in reasons if r.modifier > 0)
    score = max(0, base + (bonus if base >= 90 else 0))
    if base < 90 and bonus:
        reasons.append(Reason("bonus", 0, f"{bonus} bonus points not counted: they apply from 90 points."))
    return Grade(score, letter(score), reasons)
