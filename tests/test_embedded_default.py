"""The embedded default: no services configured → SQLite, a filesystem broker, mail to files.

Runs the real `manage.py` in a subprocess with a clean environment, so it sees exactly what a
newcomer's `make run` sees.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SERVICE_VARIABLES = (
    "DATABASE_URL",
    "REDIS_URL",
    "CELERY_BROKER_URL",
    "EMAIL_URL",
    "SECRET_KEY",
    "DJANGO_SETTINGS_MODULE",
)

PROBE = """
import json
from django.conf import settings
from django.db import connection
from spinezone.celery import app
print(json.dumps({
    "vendor": connection.vendor,
    "database": str(settings.DATABASES["default"]["NAME"]),
    "broker": app.conf.broker_url,
    "email": settings.EMAIL_BACKEND,
    "cache": settings.CACHES["default"]["BACKEND"],
}))
"""


def manage(*args: str, var_dir: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in SERVICE_VARIABLES}
    env.update(DEBUG="true", SPINEZONE_VAR_DIR=str(var_dir))
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )


@pytest.mark.slow
def test_with_no_services_configured_it_runs_on_sqlite_a_filesystem_broker_and_file_mail(tmp_path):
    migrated = manage("migrate", "--noinput", var_dir=tmp_path)
    assert migrated.returncode == 0, migrated.stderr

    probe = manage("shell", "-c", PROBE, var_dir=tmp_path)
    assert probe.returncode == 0, probe.stderr
    seen = json.loads(probe.stdout.strip().splitlines()[-1])

    assert seen["vendor"] == "sqlite"
    assert seen["database"] == str(tmp_path / "spinezone.sqlite3")
    assert seen["broker"].startswith("filesystem://")
    assert seen["email"] == "django.core.mail.backends.filebased.EmailBackend"
    assert seen["cache"].endswith("LocMemCache")
    assert (tmp_path / "spinezone.sqlite3").exists()
    assert (tmp_path / "broker").is_dir()
