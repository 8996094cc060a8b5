from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from spinezone.environment import read_bool, read_int, read_list, read_secret_key, read_str, require_url_scheme

PROJECT_DIR = Path(__file__).resolve().parent.parent
LONG_KEY = "k" * 50


@pytest.mark.parametrize(
    ("raw", "value"),
    [
        (None, "default"),
        ("1", True),
        ("true", True),
        ("True", True),
        (" YES ", True),
        ("on", True),
        ("0", False),
        ("false", False),
        ("No", False),
        ("off", False),
        ("", "default"),  # `NAME=` in an .env file means "not set"
        ("  ", "default"),
    ],
)
@pytest.mark.parametrize("default", [True, False])
def test_read_bool_reads_the_usual_words(raw, value, default):
    environ = {} if raw is None else {"FLAG": raw}

    assert read_bool("FLAG", default=default, environ=environ) is (default if value == "default" else value)


@pytest.mark.parametrize("raw", ["maybe", "2", "y", "n", "enabled", "tru", "-1"])
def test_read_bool_refuses_any_other_word_naming_the_variable(raw):
    with pytest.raises(ImproperlyConfigured, match=r"^FLAG="):
        read_bool("FLAG", default=False, environ={"FLAG": raw})


@pytest.mark.parametrize(
    ("raw", "value"),
    [(None, 30), ("", 30), ("  ", 30), ("0", 0), ("45", 45), (" 60 ", 60), ("100", 100), ("+7", 7)],
)
def test_read_int_reads_a_whole_number_in_range(raw, value):
    environ = {} if raw is None else {"AGE": raw}

    assert read_int("AGE", 30, minimum=0, maximum=100, environ=environ) == value


@pytest.mark.parametrize(
    ("raw", "complaint"),
    [
        ("ten", "not a whole number"),
        ("1.5", "not a whole number"),
        ("1e3", "not a whole number"),
        ("0x10", "not a whole number"),
        ("-1", "out of range"),
        ("101", "out of range"),
        ("99999999999999999999", "out of range"),
    ],
)
def test_read_int_refuses_a_bad_number_naming_the_variable(raw, complaint):
    with pytest.raises(ImproperlyConfigured, match=rf"^AGE=.*{complaint}"):
        read_int("AGE", 30, minimum=0, maximum=100, environ={"AGE": raw})


@pytest.mark.parametrize(
    ("raw", "value"),
    [
        (None, ["default.test"]),
        ("", ["default.test"]),
        (" , ", ["default.test"]),
        ("a.test", ["a.test"]),
        ("a.test,b.test", ["a.test", "b.test"]),
        (" a.test , ,b.test, ", ["a.test", "b.test"]),
    ],
)
def test_read_list_splits_on_commas_and_drops_blanks(raw, value):
    environ = {} if raw is None else {"HOSTS": raw}

    assert read_list("HOSTS", ["default.test"], environ=environ) == value


@pytest.mark.parametrize(
    ("raw", "value"), [(None, "fallback"), ("", "fallback"), ("   ", "fallback"), (" INFO ", "INFO"), ("x", "x")]
)
def test_read_str_reads_a_blank_value_as_unset(raw, value):
    environ = {} if raw is None else {"LEVEL": raw}

    assert read_str("LEVEL", "fallback", environ=environ) == value


@pytest.mark.parametrize(
    ("debug", "environ", "key"),
    [
        (False, {"SECRET_KEY": LONG_KEY}, LONG_KEY),
        (False, {"SECRET_KEY": f"  {LONG_KEY}\n"}, LONG_KEY),
        (True, {"SECRET_KEY": "short-is-fine-on-a-laptop"}, "short-is-fine-on-a-laptop"),
    ],
)
def test_read_secret_key_takes_the_key_from_the_environment(debug, environ, key):
    assert read_secret_key(debug, environ=environ) == key


def test_read_secret_key_gives_a_development_key_only_with_debug_on():
    assert read_secret_key(True, environ={}).startswith("django-insecure-")


@pytest.mark.parametrize(
    ("environ", "complaint"),
    [
        ({}, "SECRET_KEY is not set"),
        ({"SECRET_KEY": ""}, "SECRET_KEY is not set"),
        ({"SECRET_KEY": "   "}, "SECRET_KEY is not set"),
        ({"SECRET_KEY": "k" * 49}, "SECRET_KEY is too short"),
    ],
)
def test_read_secret_key_refuses_a_missing_or_short_key_in_production(environ, complaint):
    with pytest.raises(ImproperlyConfigured, match=complaint):
        read_secret_key(False, environ=environ)


def test_a_refused_secret_key_is_not_repeated_in_the_message():
    with pytest.raises(ImproperlyConfigured) as refused:
        read_secret_key(False, environ={"SECRET_KEY": "hunter2-almost-secret"})

    assert "hunter2" not in str(refused.value)


@pytest.mark.parametrize(
    "url", ["postgres://u:p@db/spinezone", "postgresql://db/x", "sqlite:////tmp/x.sqlite3", "sqlite://:memory:"]
)
def test_require_url_scheme_accepts_a_listed_scheme(url):
    assert require_url_scheme("DATABASE_URL", url, ("postgres", "postgresql", "sqlite")) == url


@pytest.mark.parametrize(
    "url", ["mysql://db/x", "db.example.test:5432", "", "postgres:/db", "POSTGRES://db/x", "postgres", " postgres://db"]
)
def test_require_url_scheme_refuses_any_other_naming_the_variable(url):
    with pytest.raises(ImproperlyConfigured, match=r"^DATABASE_URL is not a supported URL.*postgres://, sqlite://"):
        require_url_scheme("DATABASE_URL", url, ("postgres", "sqlite"))


def test_a_refused_url_does_not_repeat_its_password():
    with pytest.raises(ImproperlyConfigured) as refused:
        require_url_scheme("DATABASE_URL", "mysql://spinezone:s3cret-pw@db.example.test/x", ("postgres",))

    assert "s3cret-pw" not in str(refused.value)
    assert "mysql" in str(refused.value)


# --- The real settings module, started the way a server starts it --------------------------------


def start_django(tmp_path: Path, **variables: str) -> subprocess.CompletedProcess[str]:
    environ = {
        name: value
        for name, value in os.environ.items()
        if name not in {"DATABASE_URL", "REDIS_URL", "SECRET_KEY", "DEBUG"}
    }
    environ.update(DJANGO_SETTINGS_MODULE="spinezone.settings", SPINEZONE_VAR_DIR=str(tmp_path), **variables)
    return subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        cwd=PROJECT_DIR,
        env=environ,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.slow
def test_the_platform_refuses_to_start_in_production_without_a_secret_key(tmp_path):
    started = start_django(tmp_path, DEBUG="false")

    assert started.returncode != 0
    assert "SECRET_KEY is not set" in started.stderr


@pytest.mark.slow
def test_the_platform_refuses_to_start_on_a_debug_flag_it_cannot_read(tmp_path):
    started = start_django(tmp_path, DEBUG="maybe")

    assert started.returncode != 0
    assert "DEBUG='maybe' is not a boolean" in started.stderr


@pytest.mark.slow
def test_the_platform_starts_with_a_production_secret_key(tmp_path):
    started = start_django(tmp_path, DEBUG="false", SECRET_KEY=LONG_KEY)

    assert started.returncode == 0, started.stderr
