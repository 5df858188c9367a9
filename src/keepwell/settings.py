"""keepwell settings: every knob comes from a KEEPWELL_* environment variable.

The manual (docs/configuration.md) documents each one; tests/test_docs.py fails when one is missing.
"""

import os
import secrets
from pathlib import Path

import dj_database_url

from keepwell.core.clientip import parse_networks

BASE_DIR = Path(__file__).resolve().parent


def env(name: str, default: str = "") -> str:
    """Return the KEEPWELL_* variable `name`, or `default`."""
    return os.environ.get(f"KEEPWELL_{name}", default)


def envbool(name: str, default: str = "0") -> bool:
    return env(name, default).strip().lower() in ("1", "true", "yes", "on")


def envint(name: str, default: int) -> int:
    value = env(name, str(default))
    try:
        return int(value)
    except ValueError:
        raise SystemExit(f"KEEPWELL_{name} must be a whole number, got {value!r}.") from None


DATA_DIR = Path(env("DATA_DIR", str(Path.home() / ".local" / "share" / "keepwell"))).expanduser()


def _data_dir() -> Path:
    try:
        DATA_DIR.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise SystemExit(
            f"The data directory {DATA_DIR} cannot be created ({exc.strerror}). "
            "Set KEEPWELL_DATA_DIR to a writable folder."
        ) from None
    return DATA_DIR


def _read_or_create(path: Path, make) -> str:
    """Return the contents of `path`, creating it (mode 0600) with `make()` on first use."""
    if path.exists():
        return path.read_text().strip()
    _data_dir()
    value = make()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(value + "\n")
    return value


SECRET_KEY = env("SECRET_KEY") or _read_or_create(DATA_DIR / "secret_key", lambda: secrets.token_urlsafe(50))
# The key that encrypts stored credentials (channel URLs, passwords). Kept apart from SECRET_KEY so that
# rotating the session key does not make stored credentials unreadable.
ENCRYPTION_KEY_FILE = DATA_DIR / "encryption_key"

DEBUG = envbool("DEBUG")
BASE_URL = env("BASE_URL", "http://127.0.0.1:8000").rstrip("/")
ALLOWED_HOSTS = [h.strip() for h in env("ALLOWED_HOSTS", "127.0.0.1,localhost,[::1]").split(",") if h.strip()]
CSRF_TRUSTED_ORIGINS = [BASE_URL]
SITE_NAME = env("SITE_NAME", "keepwell")
# Reverse proxies in front of keepwell (IP addresses and CIDR ranges). Only from these is X-Forwarded-For read
# for the client's address (keepwell.core.clientip) and X-Forwarded-Proto for HTTPS; empty: no proxy believed.
try:
    TRUSTED_PROXIES = parse_networks(env("TRUSTED_PROXIES"))
except ValueError as exc:
    raise SystemExit(f"KEEPWELL_TRUSTED_PROXIES: {exc}") from None
# Django believes this header from any peer: ForwardedProtoMiddleware drops it from all but trusted proxies.
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if TRUSTED_PROXIES else None

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django_htmx",
    "template_partials",
    "huey.contrib.djhuey",
    # The API's docs page (/api/v1/docs) then serves Swagger UI from our static files, not a CDN: CSP allows it.
    "ninja",
    "keepwell.core",
    "keepwell.monitoring",
    "keepwell.errors",
    "keepwell.support",
    "keepwell.documentation",
    "keepwell.backups",
    "keepwell.releases",
    "keepwell.roadmap",
    "keepwell.dependencies",
    "keepwell.security",
]

MIDDLEWARE = [
    # First, so that nothing reads request.scheme before an untrusted X-Forwarded-Proto is dropped.
    "keepwell.core.middleware.ForwardedProtoMiddleware",
    "keepwell.core.middleware.MetricsMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "keepwell.core.middleware.CurrentOrganizationMiddleware",
]

ROOT_URLCONF = "keepwell.urls"
ASGI_APPLICATION = "keepwell.asgi.application"
WSGI_APPLICATION = "keepwell.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "keepwell.core.context_processors.keepwell",
            ],
        },
    }
]

# Database: SQLite in the data directory unless KEEPWELL_DATABASE_URL names another.
DATABASE_URL = env("DATABASE_URL")
if DATABASE_URL:
    DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=60, conn_health_checks=True)}
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": DATA_DIR / "keepwell.sqlite3",
            "OPTIONS": {
                "transaction_mode": "IMMEDIATE",
                "timeout": 20,
                "init_command": (
                    "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=20000; "
                    "PRAGMA foreign_keys=ON;"
                ),
            },
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "core.User"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "overview"
LOGOUT_REDIRECT_URL = "login"
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# Failed sign-ins allowed per email and per address in LOGIN_THROTTLE_WINDOW seconds.
LOGIN_THROTTLE_ATTEMPTS = envint("LOGIN_THROTTLE_ATTEMPTS", 5)
LOGIN_THROTTLE_WINDOW = envint("LOGIN_THROTTLE_WINDOW", 900)

# Redis: jobs, cache (and later realtime) move to Redis when KEEPWELL_REDIS_URL is set.
REDIS_URL = env("REDIS_URL")
if REDIS_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
    HUEY = {
        "huey_class": "huey.RedisHuey",
        "name": env("QUEUE_NAME", "keepwell"),
        "url": REDIS_URL,
        "immediate": False,
        "consumer": {"workers": envint("WORKERS", 2), "worker_type": "thread", "periodic": True},
    }
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(DATA_DIR / "cache"),
        }
    }
    HUEY = {
        "huey_class": "huey.SqliteHuey",
        "name": "keepwell",
        "filename": str(DATA_DIR / "jobs.sqlite3"),
        "immediate": False,
        "consumer": {"workers": envint("WORKERS", 2), "worker_type": "thread", "periodic": True},
    }
if envbool("JOBS_IMMEDIATE"):
    HUEY["immediate"] = True

# Mail.
EMAIL_BACKEND = env("EMAIL_BACKEND", "django.core.mail.backends.smtp.EmailBackend")
EMAIL_HOST = env("EMAIL_HOST", "localhost")
EMAIL_PORT = envint("EMAIL_PORT", 25)
EMAIL_HOST_USER = env("EMAIL_USER")
EMAIL_HOST_PASSWORD = env("EMAIL_PASSWORD")
EMAIL_USE_TLS = envbool("EMAIL_TLS")
EMAIL_TIMEOUT = 15
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM", "keepwell@localhost")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
SMTPD_HOST = env("SMTPD_HOST", "127.0.0.1")
SMTPD_PORT = envint("SMTPD_PORT", 2525)
MAIL_DOMAIN = env("MAIL_DOMAIN", "localhost")

# Outbound requests (webhooks, monitors) may not reach loopback or private networks unless allowed.
ALLOW_PRIVATE_TARGETS = envbool("ALLOW_PRIVATE_TARGETS")

# Seconds a clone or fetch of a service's git repository may take (keepwell.core.repositories).
REPOSITORY_TIMEOUT = envint("REPOSITORY_TIMEOUT", 300)
# Folders a service's local repository must be inside, for every practice that reads one. Not set: any folder
# the hub can read. KEEPWELL_DEPS_REPOSITORY_ROOTS is its former name, still read.
REPOSITORY_ROOTS = [
    p for p in (env("REPOSITORY_ROOTS") or env("DEPS_REPOSITORY_ROOTS")).split(os.pathsep) if p.strip()
]

# Heartbeats: bytes of a ping's body kept (more is truncated, never refused), and pings kept per heartbeat.
PING_BODY_LIMIT = envint("PING_BODY_LIMIT", 100 * 1024)
PING_LOG_LIMIT = envint("PING_LOG_LIMIT", 1000)

# /metrics answers only requests with "Authorization: Bearer <this token>" when set.
METRICS_TOKEN = env("METRICS_TOKEN")

# Sessions, cookies and headers.
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_SECURE = BASE_URL.startswith("https://")
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "connect-src": ["'self'"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'"],
        "base-uri": ["'self'"],
        "object-src": ["'none'"],
    }
}

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = False
USE_TZ = True

STATIC_URL = "/static/"
# Static files are served by WhiteNoise straight from the package (WHITENOISE_USE_FINDERS): no collectstatic.
STATIC_ROOT = None
# The shared layout's stylesheet and htmx live in src/keepwell/static/ (not inside an app).
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", "INFO")},
    # Huey's consumer adds its own handler unless the logger has one: give it ours, once. At INFO it logs every
    # run of every periodic job, so it speaks at WARNING (failures are errors) unless the level is DEBUG.
    "loggers": {
        "huey": {
            "level": "DEBUG" if env("LOG_LEVEL", "INFO").upper() == "DEBUG" else "WARNING",
            "handlers": ["console"],
            "propagate": False,
        }
    },
}

# Alerting defaults (each routing rule may override).
ALERT_GROUP_WINDOW = envint("ALERT_GROUP_WINDOW", 30)
ALERT_MAX_ATTEMPTS = envint("ALERT_MAX_ATTEMPTS", 6)
# Days that sent, failed and cancelled notifications (and their delivery log) are kept.
ALERT_RETENTION_DAYS = envint("ALERT_RETENTION_DAYS", 90)

# Status pages and the Alertmanager webhook (monitoring).
STATUS_PAGE_CACHE_SECONDS = envint("STATUS_PAGE_CACHE_SECONDS", 30)
ALERTMANAGER_MAX_BODY = envint("ALERTMANAGER_MAX_BODY", 1_000_000)

# --- errors ---
# Ingestion: body caps enforced while reading, a new key's rate limit (envelopes per minute,
# 0 = none), attachment size, items per envelope, and how long event ids are remembered to drop duplicates.
ERRORS_MAX_BODY = envint("ERRORS_MAX_BODY", 20 * 1024 * 1024)
ERRORS_MAX_DECOMPRESSED = envint("ERRORS_MAX_DECOMPRESSED", 40 * 1024 * 1024)
ERRORS_MAX_ATTACHMENT = envint("ERRORS_MAX_ATTACHMENT", 10 * 1024 * 1024)
ERRORS_MAX_ITEMS = envint("ERRORS_MAX_ITEMS", 100)
ERRORS_RATE_LIMIT = envint("ERRORS_RATE_LIMIT", 3000)
ERRORS_DEDUPE_SECONDS = envint("ERRORS_DEDUPE_SECONDS", 3600)
# Processing, groups and release health:
ERRORS_RETENTION_DAYS = envint("ERRORS_RETENTION_DAYS", 90)
ERRORS_SPIKE_FACTOR = envint("ERRORS_SPIKE_FACTOR", 10)
ERRORS_SPIKE_MIN_EVENTS = envint("ERRORS_SPIKE_MIN_EVENTS", 100)

# --- backups ---
# The restic binary, and restic's cache (shared by every repository; speeds up backups and checks).
BACKUP_RESTIC = env("BACKUP_RESTIC", "restic")
BACKUP_CACHE_DIR = env("BACKUP_CACHE_DIR", str(DATA_DIR / "restic-cache"))
# The hub's lease on a repository (one job at a time); renewed while a job reports progress.
BACKUP_LEASE_MINUTES = envint("BACKUP_LEASE_MINUTES", 15)
# A queued job that finds its repository busy tries again after this many seconds.
BACKUP_BUSY_RETRY_SECONDS = envint("BACKUP_BUSY_RETRY_SECONDS", 60)
# restic locks older than this whose process is gone are removed before a job (new repositories' default).
BACKUP_STALE_LOCK_MINUTES = envint("BACKUP_STALE_LOCK_MINUTES", 60)
# Admin URLs of servers where restore drills create (and drop) scratch databases.
BACKUP_SCRATCH_POSTGRES = env("BACKUP_SCRATCH_POSTGRES")
BACKUP_SCRATCH_MYSQL = env("BACKUP_SCRATCH_MYSQL")
# Verification commands run a shell command on the hub: refused unless the operator allows them.
BACKUP_ALLOW_COMMANDS = envbool("BACKUP_ALLOW_COMMANDS")
# Folders that path and SQLite sources, local repositories and restores must be inside (`:`-separated; empty: any).
BACKUP_PATH_ROOTS = [p for p in env("BACKUP_PATH_ROOTS").split(os.pathsep) if p.strip()]
# keepwell's own backup (`keepwell backup-self`, and on SELF_BACKUP_SCHEDULE when a repository is set).
SELF_BACKUP_REPOSITORY = env("SELF_BACKUP_REPOSITORY")
SELF_BACKUP_PASSWORD = env("SELF_BACKUP_PASSWORD")
SELF_BACKUP_PASSWORD_FILE = env("SELF_BACKUP_PASSWORD_FILE")
SELF_BACKUP_SCHEDULE = env("SELF_BACKUP_SCHEDULE", "30 2 * * *")

# --- dependencies ---
# Registries, the end-of-life API and the on-disk cache of their answers (keepwell deps scan reads the same
# KEEPWELL_DEPS_* variables itself, without Django).
DEPS_PYPI_URL = env("DEPS_PYPI_URL", "https://pypi.org").rstrip("/")
DEPS_NPM_URL = env("DEPS_NPM_URL", "https://registry.npmjs.org").rstrip("/")
DEPS_EOL_URL = env("DEPS_EOL_URL", "https://endoflife.date").rstrip("/")
DEPS_CACHE_DIR = Path(env("DEPS_CACHE_DIR", str(DATA_DIR / "deps-cache"))).expanduser()
DEPS_CACHE_TTL = envint("DEPS_CACHE_TTL", 3600)
DEPS_OFFLINE = envbool("DEPS_OFFLINE")
DEPS_CONCURRENCY = envint("DEPS_CONCURRENCY", 16)
DEPS_RETRIES = envint("DEPS_RETRIES", 3)
# Findings: runtimes this many days from their end of life, services past these drift thresholds.
DEPS_EOL_WARN_DAYS = envint("DEPS_EOL_WARN_DAYS", 180)
DEPS_MAX_LIBYEARS = envint("DEPS_MAX_LIBYEARS", 25)
DEPS_MAX_MAJOR_BEHIND = envint("DEPS_MAX_MAJOR_BEHIND", 2)
# The nightly scan's hour (UTC) and how long an update proposal's test command may run (seconds).
DEPS_SCAN_HOUR = envint("DEPS_SCAN_HOUR", 3)
DEPS_TEST_TIMEOUT = envint("DEPS_TEST_TIMEOUT", 1800)
# Update proposals run the repository's test command with the hub's rights: only an operator may allow it.
DEPS_RUN_TESTS = envbool("DEPS_RUN_TESTS")
# Folders that a service's repository must be inside to be scanned or proposed to (colon-separated; empty: any).

# --- security ---
# Secrets, web posture and fix-by dates.
FIX_BY_DAYS = {
    "critical": envint("FIX_BY_CRITICAL_DAYS", 7),
    "high": envint("FIX_BY_HIGH_DAYS", 30),
    "medium": envint("FIX_BY_MEDIUM_DAYS", 90),
    "low": envint("FIX_BY_LOW_DAYS", 180),
}
SECRETS_HISTORY_MAX_COMMITS = envint("SECRETS_HISTORY_MAX_COMMITS", 1000)
POSTURE_TIMEOUT = envint("POSTURE_TIMEOUT", 10)
POSTURE_CAFILE = env("POSTURE_CAFILE")  # extra CAs to trust when verifying monitored sites (internal CAs)
# HSTS on keepwell's own pages when it is served over HTTPS (its own posture check asks for it).
SECURE_HSTS_SECONDS = envint("HSTS_SECONDS", 31_536_000 if BASE_URL.startswith("https://") else 0)
# Known vulnerabilities: where the OSV exports come from, which ecosystems, how often
# the local database (DATA_DIR/osv/) is refreshed and every service's repository scanned (0 turns either off).
OSV_URL = env("OSV_URL", "https://osv-vulnerabilities.storage.googleapis.com/{ecosystem}/all.zip")
OSV_ECOSYSTEMS = tuple(e.strip() for e in env("OSV_ECOSYSTEMS", "PyPI,npm").split(",") if e.strip())
OSV_MAX_DOWNLOAD_MB = envint("OSV_MAX_DOWNLOAD_MB", 4096)
OSV_UPDATE_HOURS = envint("OSV_UPDATE_HOURS", 24)
VULN_SCAN_HOURS = envint("VULN_SCAN_HOURS", 24)
