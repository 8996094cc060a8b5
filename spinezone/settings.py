"""SpineZone settings: one module, read from the environment (see .env.example).

With no DATABASE_URL the platform uses SQLite in var/, with no REDIS_URL or
CELERY_BROKER_URL a filesystem broker in var/ that a separate worker and beat
can share, and with no EMAIL_URL mail is written to files in var/mail/.
"""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import environ
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured

from spinezone.environment import read_bool, read_int, read_list, read_secret_key, read_str, require_url_scheme

BASE_DIR = Path(__file__).resolve().parent.parent
env = environ.Env()
VAR_DIR = Path(read_str("SPINEZONE_VAR_DIR", str(BASE_DIR / "var")))

DEBUG = read_bool("DEBUG", default=False)
SECRET_KEY = read_secret_key(DEBUG)
ALLOWED_HOSTS = read_list("ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = read_list("CSRF_TRUSTED_ORIGINS", [])
# Number of reverse proxies in front of the app whose X-Forwarded-For entries are trusted (0: none).
TRUSTED_PROXY_COUNT = read_int("TRUSTED_PROXY_COUNT", 0, minimum=0, maximum=5)

INSTALLED_APPS = [
    "apps.clinics.admin_config.SpineZoneAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rules",
    "django_scopes",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "drf_standardized_errors",
    "allauth",
    "allauth.account",
    "allauth.mfa",
    "axes",
    "apps.accounts",
    "apps.audit",
    "apps.clinics",
    "apps.patients",
    "apps.assessments",
    "apps.programs",
    "apps.scheduling",
    "apps.reminders",
    "apps.outcomes",
    "apps.fhir",
    "apps.demo",
    "apps.partners",
    "apps.api",
    "apps.web",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "apps.audit.middleware.RequestContextMiddleware",
    # Outside everything that may answer early (a redirect to sign in, the second factor), so
    # every dynamic response gets Cache-Control: no-store and the content security policy.
    "apps.accounts.http.NoStoreMiddleware",
    "apps.accounts.http.ContentSecurityPolicyMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "apps.accounts.middleware.SessionLifetimeMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "apps.accounts.middleware.SecondFactorMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "apps.clinics.middleware.ClinicScopeMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # Last, as django-axes requires: turns a locked-out sign-in into the lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "spinezone.urls"
WSGI_APPLICATION = "spinezone.wsgi.application"

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
            ],
        },
    },
]

# --- Database -----------------------------------------------------------------------------------
DATABASE_URL = read_str("DATABASE_URL", "")
if DATABASE_URL:
    require_url_scheme("DATABASE_URL", DATABASE_URL, ("postgres", "postgresql", "pgsql", "sqlite"))
    DATABASES = {"default": env.db_url_config(DATABASE_URL)}
else:
    DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": VAR_DIR / "spinezone.sqlite3"}}
DATABASES["default"]["CONN_MAX_AGE"] = read_int("CONN_MAX_AGE", 60, minimum=0, maximum=3600)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache and Celery ---------------------------------------------------------------------------
REDIS_URL = read_str("REDIS_URL", "")
if REDIS_URL:
    require_url_scheme("REDIS_URL", REDIS_URL, ("redis", "rediss"))
    CACHES = {"default": env.cache_url_config(REDIS_URL)}
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

CELERY_BROKER_URL = read_str("CELERY_BROKER_URL", REDIS_URL or "filesystem://")
require_url_scheme("CELERY_BROKER_URL", CELERY_BROKER_URL, ("redis", "rediss", "filesystem"))
if CELERY_BROKER_URL.startswith("filesystem://"):
    # Embedded default: the worker and beat are separate processes, so the broker must outlive
    # any one of them. kombu's filesystem transport keeps messages as files in one folder.
    CELERY_BROKER_FOLDER = VAR_DIR / "broker"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(CELERY_BROKER_FOLDER),
        "data_folder_out": str(CELERY_BROKER_FOLDER),
        "control_folder": str(VAR_DIR / "broker-control"),
    }
else:
    # Must exceed the longest task time limit, or Redis re-delivers a message still being worked on.
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
CELERY_TASK_ALWAYS_EAGER = read_bool("CELERY_TASK_ALWAYS_EAGER", default=False)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SOFT_TIME_LIMIT = 240
CELERY_TASK_TIME_LIMIT = 300
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
# Periodic jobs are declared here and only here.
CELERY_BEAT_SCHEDULE: dict[str, dict] = {
    # Overdue/lapsed/detrained thresholds fall at local midnights; five minutes late is harmless.
    "programs-refresh-attendance": {
        "task": "apps.programs.tasks.refresh_attendance",
        "schedule": 300.0,
        "options": {"expires": 240},
    },
    # Appointments not checked in by start + the clinic's grace (15 min by default) become no-shows.
    "scheduling-mark-no-shows": {
        "task": "apps.scheduling.tasks.mark_no_show_appointments",
        "schedule": 60.0,
        "options": {"expires": 55},
    },
    # Idempotency-Key replay records past their 24 hours.
    "api-purge-idempotency-records": {
        "task": "apps.api.tasks.purge_idempotency_records",
        "schedule": 3600.0,
        "options": {"expires": 3000},
    },
    # Outcome facts of running programs: weeks, sessions prescribed to date and adherence, brought to today.
    "outcomes-catch-up-facts": {
        "task": "apps.outcomes.tasks.catch_up_outcome_facts",
        "schedule": 900.0,
        "options": {"expires": 840},
    },
    # Large networks' outcomes reports, counted ahead (apps.outcomes.rollups); used up to OUTCOMES_ROLLUP_MAX_AGE.
    "outcomes-refresh-rollups": {
        "task": "apps.outcomes.tasks.refresh_outcome_rollups",
        "schedule": 300.0,
        "options": {"expires": 280},
    },
    # Reminder emails (apps.reminders): materialise due rows, recover lost claims, enqueue ids.
    # A tick not started within the minute is dropped; the next one does the same work.
    "reminders-sweep": {
        "task": "apps.reminders.tasks.sweep_reminders",
        "schedule": 60.0,
        "options": {"expires": 55},
    },
}

# --- Outcomes ---------------------------------------------------------------------------------
# Networks of at least this many programs have their whole outcomes report counted ahead every 5
# minutes (apps.outcomes.rollups); a rollup older than OUTCOMES_ROLLUP_MAX_AGE seconds is not used.
OUTCOMES_ROLLUP_MIN_PROGRAMS = read_int("OUTCOMES_ROLLUP_MIN_PROGRAMS", 20_000, minimum=1, maximum=10**9)
OUTCOMES_ROLLUP_MAX_AGE = read_int("OUTCOMES_ROLLUP_MAX_AGE", 900, minimum=60, maximum=24 * 3600)

# --- Email --------------------------------------------------------------------------------------
EMAIL_URL = read_str("EMAIL_URL", "")
if EMAIL_URL:
    require_url_scheme(
        "EMAIL_URL",
        EMAIL_URL,
        ("smtp", "smtps", "smtp+tls", "smtp+ssl", "consolemail", "filemail", "memorymail", "dummymail"),
    )
    _email = env.email_url_config(EMAIL_URL)
    EMAIL_BACKEND = _email["EMAIL_BACKEND"]
    EMAIL_HOST = _email.get("EMAIL_HOST", "")
    EMAIL_PORT = _email.get("EMAIL_PORT") or 25
    EMAIL_HOST_USER = _email.get("EMAIL_HOST_USER", "")
    EMAIL_HOST_PASSWORD = _email.get("EMAIL_HOST_PASSWORD", "")
    EMAIL_USE_TLS = bool(_email.get("EMAIL_USE_TLS", False))
    EMAIL_USE_SSL = bool(_email.get("EMAIL_USE_SSL", False))
    EMAIL_FILE_PATH = _email.get("EMAIL_FILE_PATH") or VAR_DIR / "mail"
else:
    EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
    EMAIL_FILE_PATH = VAR_DIR / "mail"
DEFAULT_FROM_EMAIL = read_str("DEFAULT_FROM_EMAIL", "SpineZone <no-reply@localhost>")
# Where patients reach the site: the absolute links in reminder emails (one-click unsubscribe).
SITE_URL = read_str("SITE_URL", "http://localhost:8000" if DEBUG else f"https://{ALLOWED_HOSTS[0].lstrip('.')}")
require_url_scheme("SITE_URL", SITE_URL, ("https", "http"))
SERVER_EMAIL = DEFAULT_FROM_EMAIL
EMAIL_TIMEOUT = read_int("EMAIL_TIMEOUT", 20, minimum=1, maximum=300)

# --- Auth ---------------------------------------------------------------------------------------
# Staff sign in through django-allauth (username and password, then the TOTP code of those who
# enrolled one; the admin's login page sends them there too). django-axes counts failures first.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",  # first: a locked-out pair never reaches a password check
    "rules.permissions.ObjectPermissionBackend",
    "allauth.account.auth_backends.AuthenticationBackend",  # a ModelBackend: one password check per try
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 12}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "web:home"
SESSION_COOKIE_AGE = read_int("SESSION_COOKIE_AGE", 30 * 60, minimum=60, maximum=12 * 3600)
SESSION_SAVE_EVERY_REQUEST = True  # the cookie age is then an idle timeout
# However active, a session ends this long after its sign-in (apps.accounts.middleware).
SESSION_ABSOLUTE_AGE = read_int("SESSION_ABSOLUTE_AGE", 12 * 3600, minimum=300, maximum=7 * 24 * 3600)
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
# Reset links: valid one hour, and single use (the token signs the password hash, which the reset changes).
PASSWORD_RESET_TIMEOUT = 3600

ACCOUNT_ADAPTER = "apps.accounts.adapters.AccountAdapter"  # no sign-up: admins create staff accounts
ACCOUNT_LOGIN_METHODS = {"username"}
ACCOUNT_SIGNUP_FIELDS = ["username*", "email", "password1*", "password2*"]
ACCOUNT_EMAIL_VERIFICATION = "none"  # addresses are entered by the admins who create the accounts
ACCOUNT_PREVENT_ENUMERATION = True  # a reset request answers the same for any address
ACCOUNT_EMAIL_UNKNOWN_ACCOUNTS = False  # and mails nobody who has no account
ACCOUNT_SESSION_REMEMBER = False  # no "remember me": the idle and absolute timeouts always apply
ACCOUNT_LOGOUT_ON_GET = False  # sign-out is a POST
ACCOUNT_LOGOUT_REDIRECT_URL = "account_login"
ACCOUNT_LOGIN_ON_PASSWORD_RESET = False  # after a reset, sign in again (with the second factor)
ACCOUNT_REAUTHENTICATION_REQUIRED = True  # the password again before changing email or password
ACCOUNT_DEFAULT_HTTP_PROTOCOL = "http" if DEBUG else "https"  # links in reset emails
ACCOUNT_EMAIL_SUBJECT_PREFIX = "SpineZone: "
# django-axes owns lockout; allauth's own per-username limit would be a second, different lockout.
# Its other limits stay (e.g. 30 sign-in posts a minute per address, 5 reset emails a minute).
ACCOUNT_RATE_LIMITS = {"login_failed": None}
MFA_ADAPTER = "apps.accounts.adapters.MFAAdapter"
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes"]
MFA_TOTP_ISSUER = "SpineZone"

# Lockout (django-axes): LOGIN_FAILURE_LIMIT wrong passwords for one username from one client
# address lock that pair for LOGIN_LOCKOUT_MINUTES; a try during the lockout starts it again.
LOGIN_FAILURE_LIMIT = read_int("LOGIN_FAILURE_LIMIT", 5, minimum=3, maximum=100)
LOGIN_LOCKOUT_MINUTES = read_int("LOGIN_LOCKOUT_MINUTES", 15, minimum=1, maximum=24 * 60)
AXES_FAILURE_LIMIT = LOGIN_FAILURE_LIMIT
AXES_COOLOFF_TIME = timedelta(minutes=LOGIN_LOCKOUT_MINUTES)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
# The address the audit log records: X-Forwarded-For only from TRUSTED_PROXY_COUNT proxies of ours.
AXES_CLIENT_IP_CALLABLE = "apps.accounts.lockout.client_address"
AXES_USERNAME_CALLABLE = "apps.accounts.lockout.username_key"
AXES_LOCKOUT_CALLABLE = "apps.accounts.lockout.locked_out"
AXES_RESET_ON_SUCCESS = True
AXES_DISABLE_ACCESS_LOG = True  # sign-ins are audit events (apps.audit); axes keeps only failure counts
AXES_ENABLE_ADMIN = False  # unlock with `manage.py axes_reset_username NAME`, or wait for the cool-off
AXES_VERBOSE = False

# --- Partner API ----------------------------------------------------------------------------------
# Requests per minute (or "N/s", "N/hour") for each token, staff user or anonymous address.
API_THROTTLE_RATE = read_str("API_THROTTLE_RATE", "600/min")
if not re.fullmatch(r"[1-9][0-9]*/(s|sec|second|m|min|minute|h|hour|d|day)", API_THROTTLE_RATE):
    raise ImproperlyConfigured(
        f"API_THROTTLE_RATE={API_THROTTLE_RATE!r} is not a rate: write requests per period, e.g. 600/min or 10/s."
    )
REST_FRAMEWORK = {
    # Token first: its `WWW-Authenticate: Bearer` makes an unauthenticated request a 401, not a 403.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "apps.partners.authentication.PartnerTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "apps.api.pagination.SyncCursorPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_THROTTLE_CLASSES": ["apps.api.throttling.PrincipalRateThrottle"],
    "DEFAULT_RENDERER_CLASSES": ["apps.api.renderers.ORJSONRenderer"]
    + (["rest_framework.renderers.BrowsableAPIRenderer"] if DEBUG else []),
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "EXCEPTION_HANDLER": "drf_standardized_errors.handler.exception_handler",
    "DEFAULT_SCHEMA_CLASS": "drf_standardized_errors.openapi.AutoSchema",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
DRF_STANDARDIZED_ERRORS = {"EXCEPTION_HANDLER_CLASS": "apps.api.errors.ApiExceptionHandler"}
SPECTACULAR_SETTINGS = {
    "TITLE": "SpineZone partner API",
    "DESCRIPTION": (
        "For partner systems of a SpineZone organization. Authenticate with `Authorization: Bearer "
        "sz_…` (never in the query string). Lists are cursor-paginated (follow `next`), oldest change "
        "first; sync incrementally with `updated_since`. Send `Idempotency-Key` on POST to retry safely."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "SERVE_AUTHENTICATION": [],
    # One documented scheme: the session is for staff trying the API in a browser, not for partners.
    "AUTHENTICATION_WHITELIST": ["apps.partners.authentication.PartnerTokenAuthentication"],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {
        "ValidationErrorEnum": "drf_standardized_errors.openapi_serializers.ValidationErrorEnum.choices",
        "ClientErrorEnum": "drf_standardized_errors.openapi_serializers.ClientErrorEnum.choices",
        "ServerErrorEnum": "drf_standardized_errors.openapi_serializers.ServerErrorEnum.choices",
        "ParseErrorCodeEnum": "drf_standardized_errors.openapi_serializers.ParseErrorCodeEnum.choices",
        "ErrorCode401Enum": "drf_standardized_errors.openapi_serializers.ErrorCode401Enum.choices",
        "ErrorCode403Enum": "drf_standardized_errors.openapi_serializers.ErrorCode403Enum.choices",
        "ErrorCode404Enum": "drf_standardized_errors.openapi_serializers.ErrorCode404Enum.choices",
        "ErrorCode405Enum": "drf_standardized_errors.openapi_serializers.ErrorCode405Enum.choices",
        "ErrorCode406Enum": "drf_standardized_errors.openapi_serializers.ErrorCode406Enum.choices",
        "ErrorCode415Enum": "drf_standardized_errors.openapi_serializers.ErrorCode415Enum.choices",
        "ErrorCode429Enum": "drf_standardized_errors.openapi_serializers.ErrorCode429Enum.choices",
        "ErrorCode500Enum": "drf_standardized_errors.openapi_serializers.ErrorCode500Enum.choices",
        # Programs and sessions both have a `status`: named, so `check --deploy` has no W001.
        "ProgramStatusEnum": "apps.programs.models.ProgramStatus.choices",
        "SessionStatusEnum": "apps.programs.models.SessionStatus.choices",
        # Flags and machines both have a `kind`; programs name the machine kind too.
        "FlagKindEnum": "apps.programs.models.FlagKind.choices",
        "MachineKindEnum": "apps.clinics.models.MachineKind.choices",
    },
    "POSTPROCESSING_HOOKS": [
        "drf_standardized_errors.openapi_hooks.postprocess_schema_enums",
        "apps.api.openapi.list_index_attrs",  # `points.0.torque`, as returned, not `points.INDEX.torque`
        "apps.api.openapi.forbidden_codes",  # the sign-in middleware's `second_factor_required`
    ],
}

# --- HTTP security (production defaults; DEBUG relaxes what needs HTTPS) -------------------------
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SECURE_SSL_REDIRECT = read_bool("SECURE_SSL_REDIRECT", default=not DEBUG)
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = read_bool("SECURE_COOKIES", default=not DEBUG)
SECURE_HSTS_SECONDS = read_int("SECURE_HSTS_SECONDS", 0 if DEBUG else 31_536_000, minimum=0, maximum=63_072_000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = SECURE_HSTS_SECONDS > 0
SECURE_HSTS_PRELOAD = False
# Preloading is a deployer's decision (a submission to browsers' lists, hard to undo), not a default.
SILENCED_SYSTEM_CHECKS = ["security.W021"]
# Load balancers probe over plain HTTP inside the network.
SECURE_REDIRECT_EXEMPT = [r"^health/$"]
if read_bool("BEHIND_TLS_PROXY", default=False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# One policy for the whole site: no inline script or style anywhere (chart data travels in
# json_script blocks, libraries are files of our origin). Per-path additions, each with its
# reason, are in apps.accounts.http.POLICY_ADDITIONS (today only the API's Swagger page).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],  # data: for the TOTP QR code and the favicon placeholder
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [NONE],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    },
}

# --- Internationalisation -----------------------------------------------------------------------
LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("es", "Español"), ("fr", "Français"), ("de", "Deutsch")]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# --- Static files -------------------------------------------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}

# --- Logging ------------------------------------------------------------------------------------
LOG_LEVEL = read_str("LOG_LEVEL", "INFO").upper()
if LOG_LEVEL not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
    raise ImproperlyConfigured(
        f"LOG_LEVEL={LOG_LEVEL!r} is not a log level: use DEBUG, INFO, WARNING, ERROR or CRITICAL."
    )
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "apps.audit.context.RequestIdLogFilter"}},
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain", "filters": ["request_id"]}},
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    # django-axes logs three INFO lines per sign-in; its failures and lockouts are WARNINGs.
    "loggers": {"axes": {"level": "WARNING"}},
}
