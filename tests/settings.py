"""Test settings: the real settings, on PostgreSQL and Redis, with the few overrides tests need."""

import os

os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/spinezone")
os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/15")
os.environ.setdefault("SECRET_KEY", "tests-only-secret-key-that-is-long-enough-for-the-settings-check-0123456789")
os.environ.setdefault("DEBUG", "false")
os.environ.setdefault("SECURE_SSL_REDIRECT", "false")

from spinezone.settings import *  # noqa: F403

# PBKDF2 costs ~100 ms per login; tests log in thousands of times.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
# A private cache: counters in the shared Redis would leak between runs (user ids repeat).
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
# No collectstatic before tests.
STORAGES = {**STORAGES, "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}  # noqa: F405
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
# Every 2xx that shows a patient must carry that patient's audit event (tests/audit_coverage.py), and
# every answer of the partner API must be one its schema documents (tests/schema_conformance.py).
MIDDLEWARE = [
    "tests.schema_conformance.SchemaConformanceMiddleware",
    *MIDDLEWARE[: MIDDLEWARE.index("apps.audit.middleware.RequestContextMiddleware") + 1],  # noqa: F405
    "tests.audit_coverage.AuditCoverageMiddleware",
    *MIDDLEWARE[MIDDLEWARE.index("apps.audit.middleware.RequestContextMiddleware") + 1 :],  # noqa: F405
]
# WhiteNoise warns on every request when STATIC_ROOT does not exist yet.
STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # noqa: F405
# pytest-django empties tables with TRUNCATE between transactional tests; audit_event's trigger refuses
# TRUNCATE unless the session says `spinezone.audit_truncate=on` (migration audit 0002). Production never does.
_db_options = DATABASES["default"].setdefault("OPTIONS", {})  # noqa: F405
_db_options["options"] = f"{_db_options.get('options', '')} -c spinezone.audit_truncate=on".strip()
