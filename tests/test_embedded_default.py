"""The embedded default: no services configured → SQLite, a filesystem broker, mail to files.

Runs the real `manage.py` in a subprocess with a clean environment, so it sees exactly what a
newcomer's `make run` sees.
"""

from __future__ import annotations

import http.cookiejar
import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
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


def embedded_env(var_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in SERVICE_VARIABLES}
    env.update(DEBUG="true", SPINEZONE_VAR_DIR=str(var_dir))
    return env


def manage(*args: str, var_dir: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=embedded_env(var_dir),
        capture_output=True,
        text=True,
        timeout=180,
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


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for(url: str, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(url, timeout=2)
            return
        except OSError:
            time.sleep(0.2)
    raise AssertionError(f"{url} did not answer within {seconds} s")


def sign_in(base: str, username: str) -> urllib.request.OpenerDirector:
    """Through the admin's sign-in link, as a browser follows it to the one staff sign-in page."""
    browser = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
    login_page = browser.open(f"{base}/admin/login/?next=/admin/")
    assert urllib.parse.urlparse(login_page.url).path == "/accounts/login/"
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', login_page.read().decode()).group(1)
    form = {"csrfmiddlewaretoken": token, "login": username, "password": "spinezone-demo-2026", "next": "/admin/"}
    request = urllib.request.Request(
        f"{base}/accounts/login/", data=urllib.parse.urlencode(form).encode(), headers={"Referer": login_page.url}
    )
    landed = browser.open(request)
    assert landed.url.endswith("/admin/"), "the demo login was refused"
    return browser


@pytest.mark.slow
def test_the_run_commands_steps_bring_up_the_demo_and_a_staff_login_sees_its_own_clinic_only(tmp_path):
    """What `make run` does, minus the virtualenv: migrate, seed_demo, serve; then use it."""
    for step in (("migrate", "--noinput"), ("seed_demo",)):
        done = manage(*step, var_dir=tmp_path)
        assert done.returncode == 0, done.stderr
    assert "lj.frontdesk" in done.stdout
    assert "lj.admin and org.admin must use two-factor authentication" in done.stdout

    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload"],
        cwd=ROOT,
        env=embedded_env(tmp_path),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        wait_for(f"{base}/accounts/login/")
        assert urllib.request.urlopen(f"{base}/accounts/login/").status == 200

        patients = sign_in(base, "lj.frontdesk").open(f"{base}/admin/patients/patient/?all=").read().decode()
    finally:
        server.terminate()
        server.wait(timeout=10)

    assert len(set(re.findall(r"LJ-\d{6}", patients))) == 24
    assert "CHI-" not in patients
