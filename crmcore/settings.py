"""PilotCRM settings.

Every value comes from the environment; the defaults run locally (SQLite, an
in-process cache, Celery tasks run eagerly). Production differs only by
environment values: ``DEBUG=False``, a real ``SECRET_KEY``, ``ALLOWED_HOSTS``,
``DATABASE_URL`` (PostgreSQL), ``REDIS_URL`` and ``CELERY_BROKER_URL``.
"""

from datetime import timedelta
from pathlib import Path

import environ
from celery.schedules import crontab
from csp.constants import NONCE, NONE, SELF, UNSAFE_INLINE

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()

DEBUG = env.bool("DEBUG", default=True)
# With DEBUG on, error pages are still the styled ones users see in production;
# a developer who wants Django's debug pages (tracebacks, URL patterns) sets this.
DEBUG_ERROR_PAGES = env.bool("DEBUG_ERROR_PAGES", default=False)
# The development key is only accepted while DEBUG is on.
SECRET_KEY = env.str(
    "SECRET_KEY",
    default="django-insecure-development-only-key" if DEBUG else environ.Env.NOTSET,
)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "testserver"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

# Apps. crmcore never imports the two plugins below it; they plug in through
# crmcore.extensions from their AppConfig.ready().
CORE_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "axes",
    "csp",
    "django_celery_beat",
    "crmcore",
]
PLUGIN_APPS = [
    "waffle",
    "ai_features",
    "ai_features.capabilities.sentiment",
    "ai_features.capabilities.prediction",
    "ai_features.capabilities.personalization",
    "training_sandbox",
]
INSTALLED_APPS = CORE_APPS + PLUGIN_APPS

MIDDLEWARE = [
    # First: every request gets its id and its latency measured, redirects too.
    "crmcore.observability.RequestIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "crmcore.middleware.WorkspaceMiddleware",
    # With DEBUG on: the styled error pages, not Django's debug pages, unless
    # DEBUG_ERROR_PAGES is on (crmcore.web.errors).
    "crmcore.web.errors.FriendlyErrorsMiddleware",
    # Last: turns a locked-out login into the lockout response (crmcore.security).
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "crmcore.urls"
WSGI_APPLICATION = "crmcore.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "crmcore.context_processors.crm",
            ],
        },
    },
]

DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
}
DATABASES["default"].setdefault("ATOMIC_REQUESTS", False)
# Persistent connections: a connection is reused by the requests of one worker
# for this many seconds (0 closes it after each request), and checked before
# reuse so a dropped connection is replaced instead of failing a request.
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = env.bool("CONN_HEALTH_CHECKS", default=True)
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets the web server read while a seeding or scoring job writes.
    DATABASES["default"].setdefault("OPTIONS", {})
    DATABASES["default"]["OPTIONS"].setdefault(
        "init_command", "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
    )
    DATABASES["default"]["OPTIONS"].setdefault("transaction_mode", "IMMEDIATE")
    DATABASES["default"]["OPTIONS"].setdefault("timeout", 20)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env.str("REDIS_URL", default="")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": env.str("CACHE_KEY_PREFIX", default="pilotcrm"),
        }
    }
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": "pilotcrm",
        }
    }

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
AUTHENTICATION_BACKENDS = [
    "crmcore.security.LoginLockoutBackend",
    "django.contrib.auth.backends.ModelBackend",
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "dashboard"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = env.str("TIME_ZONE", default="UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = env.path("STATIC_ROOT", default=BASE_DIR / "staticfiles")
MEDIA_URL = "media/"
MEDIA_ROOT = env.path("MEDIA_ROOT", default=BASE_DIR / "media")
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "crmcore.storage.StaticFilesStorage"
        )
    },
}

EMAIL_BACKEND = env.str("EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend")
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="pilotcrm@localhost")

# Security: strict when DEBUG is off (manage.py check --deploy passes).
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=not DEBUG)
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=not DEBUG)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=not DEBUG)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEBUG
SECURE_HSTS_PRELOAD = not DEBUG
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_CONTENT_TYPE_NOSNIFF = True
# Probes and the metrics scraper talk plain HTTP to the private port.
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$", r"^metrics$"]
# /metrics asks for "Authorization: Bearer <token>" when this is set.
METRICS_TOKEN = env.str("METRICS_TOKEN", default="")
X_FRAME_OPTIONS = "DENY"

# Content-Security-Policy (django-csp 4): scripts and styles from this site
# only, no inline script; the API docs page's one inline style carries the
# request's nonce. Inline style attributes are allowed (style-src-attr), scripts
# never. CSP_REPORT_ONLY=true sends the same policy as report-only.
CSP_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF, NONCE],
        "style-src-attr": [UNSAFE_INLINE],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    },
}
if env.bool("CSP_REPORT_ONLY", default=False):
    CONTENT_SECURITY_POLICY_REPORT_ONLY = CSP_POLICY
else:
    CONTENT_SECURITY_POLICY = CSP_POLICY
# /api/schema/ and /api/docs/ for logged-in users only (crmcore.api.docs_urls).
API_DOCS_REQUIRE_LOGIN = env.bool("API_DOCS_REQUIRE_LOGIN", default=not DEBUG)

# Login lockout (django-axes, crmcore.security): after LOGIN_FAILURE_LIMIT failed
# logins for one username, or from one address (REMOTE_ADDR), logins are refused
# for LOGIN_LOCKOUT_MINUTES on /login/, the admin and the API token endpoint (429).
AXES_ENABLED = env.bool("LOGIN_LOCKOUT_ENABLED", default=True)
AXES_FAILURE_LIMIT = env.int("LOGIN_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("LOGIN_LOCKOUT_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "crmcore.security.lockout_response"
AXES_VERBOSE = False

# Input bounds (crmcore.json_limits). A JSON request body may be nested this deep
# and is at most DATA_UPLOAD_MAX_MEMORY_SIZE bytes (400 past it); stored JSON
# objects (contact attributes, campaign audiences) have at most so many keys,
# bytes and levels.
DATA_UPLOAD_MAX_MEMORY_SIZE = env.int("DATA_UPLOAD_MAX_MEMORY_SIZE", default=2_621_440)
JSON_MAX_DEPTH = env.int("JSON_MAX_DEPTH", default=32)
JSON_FIELD_MAX_KEYS = env.int("JSON_FIELD_MAX_KEYS", default=100)
JSON_FIELD_MAX_BYTES = env.int("JSON_FIELD_MAX_BYTES", default=16384)
JSON_FIELD_MAX_DEPTH = env.int("JSON_FIELD_MAX_DEPTH", default=5)

# Uploads. A CSV import is cut off while it arrives past CRMCORE_IMPORT_MAX_UPLOAD_BYTES
# (crmcore.integrations.conf; 20 MB unless set); below that, files up to
# FILE_UPLOAD_MAX_MEMORY_SIZE stay in memory and larger ones go to a temporary file.
FILE_UPLOAD_MAX_MEMORY_SIZE = env.int("FILE_UPLOAD_MAX_MEMORY_SIZE", default=2_621_440)

# REST API
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "crmcore.api.pagination.StandardPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_FILTER_BACKENDS": [
        "django_filters.rest_framework.DjangoFilterBackend",
        "crmcore.api.filters.SearchFilter",
        "rest_framework.filters.OrderingFilter",
    ],
    # The client address of the throttles: REMOTE_ADDR, or with proxies in front,
    # the address this many proxies from the end of X-Forwarded-For (never the
    # header as the client sent it).
    "NUM_PROXIES": env.int("API_NUM_PROXIES", default=0),
    "DEFAULT_THROTTLE_CLASSES": [
        "crmcore.api.throttling.AnonThrottle",
        "crmcore.api.throttling.UserThrottle",
    ],
    "DEFAULT_PARSER_CLASSES": [
        "crmcore.api.parsers.BoundedJSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_SCHEMA_CLASS": "crmcore.api.schema.AutoSchema",
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}
# Requests per client address (anonymous), per user, and per address on the
# token endpoint; past a rate the API answers 429 with Retry-After.
API_THROTTLE_RATES = {
    "anon": env.str("API_THROTTLE_ANON", default="60/minute"),
    "user": env.str("API_THROTTLE_USER", default="1200/minute"),
    "auth": env.str("API_THROTTLE_AUTH", default="20/minute"),
}
SPECTACULAR_SETTINGS = {
    "TITLE": "PilotCRM API",
    "DESCRIPTION": (
        "The CRM core (accounts, contacts, interactions, deals, products, orders, "
        "campaigns) and the AI capabilities enabled for the caller."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {"ImportKindEnum": "crmcore.integrations.models.ImportKind"},
    # Swagger UI served from our own static files, no CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

# Celery: with no broker configured, tasks run eagerly in-process.
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="")
CELERY_RESULT_BACKEND = env.str("CELERY_RESULT_BACKEND", default=CELERY_BROKER_URL or None)
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
# Tasks are idempotent and acknowledged once they finish, so a task whose
# worker is killed runs again; one that opts out (``acks_late=False``) is
# acknowledged on receipt and never re-queued by the reaper.
CELERY_TASK_ACKS_LATE = True
# A task whose worker process dies (killed, out of memory) goes back on the queue.
CELERY_TASK_REJECT_ON_WORKER_LOST = True
# One task at a time per process: a killed worker takes no queued tasks with it.
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# A redelivered message whose task already succeeded (per the result backend) is not run again.
CELERY_WORKER_DEDUPLICATE_SUCCESSFUL_TASKS = True
# Redis hands an unacknowledged message to another worker after this many
# seconds. It must outlast the longest job and the longest webhook retry
# countdown (a task waiting for its countdown is held unacknowledged), or
# a running task is delivered twice. A killed worker's runs are caught sooner
# by the reaper (RUN_HEARTBEAT_TIMEOUT_SECONDS).
BROKER_VISIBILITY_TIMEOUT_SECONDS = env.int("BROKER_VISIBILITY_TIMEOUT_SECONDS", default=8 * 3600)
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": BROKER_VISIBILITY_TIMEOUT_SECONDS}
# A JobRun or ImportRun still "running" whose heartbeat is older than this is
# marked interrupted and re-queued (``manage.py reap_stale_runs``, and the
# ``crmcore.reap_stale_runs`` task every RUN_REAP_INTERVAL_SECONDS under beat).
RUN_HEARTBEAT_TIMEOUT_SECONDS = env.int("RUN_HEARTBEAT_TIMEOUT_SECONDS", default=600)
RUN_REAP_INTERVAL_SECONDS = env.int("RUN_REAP_INTERVAL_SECONDS", default=300)
# The django-celery-beat scheduler (below) installs this entry as a periodic task.
CELERY_BEAT_SCHEDULE = {
    "reap-stale-runs": {
        "task": "crmcore.reap_stale_runs",
        "schedule": float(RUN_REAP_INTERVAL_SECONDS),
    },
    # Proof of life of beat and the workers (crmcore.tasks.heartbeat, /metrics).
    "crmcore-heartbeat": {
        "task": "crmcore.heartbeat",
        "schedule": env.float("HEARTBEAT_SECONDS", default=60.0),
    },
}
# Periodic jobs are rows of django-celery-beat (apps declare them; admins edit
# them in the Django admin). Celery beat reads them where a broker is
# configured; `manage.py run_due_jobs` runs what is due in the embedded set-up.
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_TIMEZONE = TIME_ZONE
# Catch up on webhook delivery after a restart or a lost message (with a broker;
# the embedded set-up runs `manage.py deliver_webhooks`).
CELERY_BEAT_SCHEDULE["webhooks-catch-up"] = {
    "task": "crmcore.integrations.webhook_retry_due",
    "schedule": 60.0,
}
# Each rep's daily email of the tasks due today or overdue (crmcore.tasks.task_digest).
CELERY_BEAT_SCHEDULE["crmcore-task-digest"] = {
    "task": "crmcore.task_digest",
    "schedule": crontab(
        hour=env.int("TASK_DIGEST_HOUR", default=7), minute=env.int("TASK_DIGEST_MINUTE", default=0)
    ),
}
# The worker logs through LOGGING below (JSON lines), not its own format.
CELERY_WORKER_HIJACK_ROOT_LOGGER = False

# The apps' own settings (CRMCORE_*, AI_FEATURES_*, AI_<CAPABILITY>_*,
# TRAINING_SANDBOX_*) are declared with their types and defaults in each app's
# conf.py and read from the environment there (crmcore.conf).

# django-waffle: the AI capabilities' flags are a custom model with teams and
# sticky percentage buckets (ai_features.Flag).
WAFFLE_FLAG_MODEL = "ai_features.Flag"
WAFFLE_CREATE_MISSING_FLAGS = False
WAFFLE_FLAG_DEFAULT = False

# Logs: JSON lines with the request id (LOG_FORMAT=json, the default with
# DEBUG off) or plain text. One line per request at INFO from
# "pilotcrm.request" (REQUEST_LOG_LEVEL, INFO with DEBUG off).
LOG_FORMAT = env.str("LOG_FORMAT", default="text" if DEBUG else "json")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "crmcore.observability.RequestIdFilter"}},
    "formatters": {
        "json": {"()": "crmcore.observability.JsonFormatter"},
        "text": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": LOG_FORMAT,
            "filters": ["request_id"],
        }
    },
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="WARNING")},
    "loggers": {
        # Django's own console handler (DEBUG only) would print its records a
        # second time next to the root handler: they go through the root only.
        # runserver's request lines (django.server, INFO) are printed once
        # by the console handler.
        "django": {"handlers": [], "level": "INFO", "propagate": True},
        "django.server": {"handlers": ["console"], "level": "INFO", "propagate": False},
        "pilotcrm": {"level": env.str("REQUEST_LOG_LEVEL", default="WARNING" if DEBUG else "INFO")},
        "crmcore": {"level": env.str("APP_LOG_LEVEL", default="WARNING" if DEBUG else "INFO")},
    },
}
