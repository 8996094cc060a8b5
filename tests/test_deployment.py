"""The production-like deployment: Dockerfile, docker-compose.yml, .env.example and /health/.

No Docker engine is needed: the compose file is checked against the compose specification, the
image's build step (collectstatic) and `check --deploy` run here as the image would run them.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
COMPOSE_FILE = ROOT / "docker-compose.yml"
DOCKERFILE = ROOT / "Dockerfile"
ENV_EXAMPLE = ROOT / ".env.example"
VENV_BIN = Path(sys.executable).parent

APP_SERVICES = {"web", "worker", "beat", "migrate"}
# Names .env.example documents that the settings do not read, and who reads them instead.
COMPOSE_ONLY = {"POSTGRES_PASSWORD": ["docker-compose.yml"], "PORT": ["docker-compose.yml", "scripts/run.sh"]}

# Imports spinezone.settings in a fresh interpreter and prints every environment name it looks up.
RECORD_ENV_READS = """
import importlib, json, os
import environ, spinezone, spinezone.environment  # their own imports are not the settings' reads
names = set()
environ_type = type(os.environ)
original_getitem = environ_type.__getitem__
def recording_getitem(self, key):
    names.add(key)
    return original_getitem(self, key)
environ_type.__getitem__ = recording_getitem  # os.environ.get, `in` and django-environ all come here
importlib.import_module("spinezone.settings")
print(json.dumps(sorted(names)))
"""


def compose() -> dict:
    return yaml.safe_load(COMPOSE_FILE.read_text())


def dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, continuation lines joined and comments dropped."""
    text = re.sub(r"\\\n(?:\s*#[^\n]*\n)*", " ", DOCKERFILE.read_text())
    pairs = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            instruction, _, arguments = line.partition(" ")
            pairs.append((instruction.upper(), arguments.strip()))
    return pairs


def env_example_names() -> list[str]:
    """Every NAME in .env.example, set (`NAME=value`) or shown as an example (`# NAME=value`)."""
    return re.findall(r"^(?:# )?([A-Z][A-Z0-9_]*)=", ENV_EXAMPLE.read_text(), flags=re.MULTILINE)


@pytest.fixture(scope="module")
def names_the_settings_read() -> set[str]:
    environment = clean_environment(SECRET_KEY="k" * 60)
    result = subprocess.run(
        [sys.executable, "-c", RECORD_ENV_READS], cwd=ROOT, env=environment, capture_output=True, text=True, check=True
    )
    return set(json.loads(result.stdout))


def clean_environment(**values: str) -> dict[str, str]:
    """This process's environment without any SpineZone setting (tests/settings.py sets some), plus values."""
    settings_names = set(re.findall(r"^(?:# )?([A-Z][A-Z0-9_]*)=", ENV_EXAMPLE.read_text(), flags=re.MULTILINE))
    kept = {k: v for k, v in os.environ.items() if k not in settings_names and k != "DJANGO_SETTINGS_MODULE"}
    return {**kept, "DJANGO_SETTINGS_MODULE": "spinezone.settings", **values}


# --- docker-compose.yml ------------------------------------------------------------------------


@pytest.mark.slow
def test_compose_file_validates_against_the_compose_spec():
    result = subprocess.run(
        [str(VENV_BIN / "check-jsonschema"), "--builtin-schema", "vendor.compose-spec", str(COMPOSE_FILE)],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.slow
@pytest.mark.skipif(not shutil.which("docker-compose"), reason="Debian's docker-compose is not installed")
def test_docker_compose_accepts_the_file_and_requires_a_secret_key(tmp_path):
    shutil.copy(COMPOSE_FILE, tmp_path / "docker-compose.yml")
    env_file = ENV_EXAMPLE.read_text()
    command = ["docker-compose", "--project-directory", str(tmp_path), "-f", str(tmp_path / "docker-compose.yml")]
    environment = clean_environment()  # SECRET_KEY and ALLOWED_HOSTS must come from .env

    (tmp_path / ".env").write_text(env_file)  # as copied, SECRET_KEY is empty
    refused = subprocess.run([*command, "config"], env=environment, capture_output=True, text=True)
    assert refused.returncode != 0
    assert "set SECRET_KEY in .env" in refused.stderr

    (tmp_path / ".env").write_text(env_file.replace("\nSECRET_KEY=\n", "\nSECRET_KEY=" + "s3cr3t-" * 9 + "\n"))
    accepted = subprocess.run([*command, "config"], env=environment, capture_output=True, text=True)
    assert accepted.returncode == 0, accepted.stderr
    resolved = yaml.safe_load(accepted.stdout)
    assert resolved["services"]["web"]["environment"]["DATABASE_URL"] == (
        "postgres://spinezone:spinezone@postgres:5432/spinezone"
    )


def test_compose_runs_the_platform_as_six_services():
    assert set(compose()["services"]) == {"web", "worker", "beat", "migrate", "postgres", "redis"}


def test_every_app_service_runs_the_one_image_with_the_same_configuration():
    services = compose()["services"]
    app = {name: services[name] for name in APP_SERVICES}
    assert {json.dumps([s.get("build"), s.get("image")]) for s in app.values()} == {json.dumps([".", "spinezone"])}
    assert all(s["env_file"] == ".env" for s in app.values())
    environments = {json.dumps(s["environment"], sort_keys=True) for s in app.values()}
    assert len(environments) == 1
    environment = app["web"]["environment"]
    assert environment["DEBUG"] == "false"
    assert environment["SECRET_KEY"].startswith("${SECRET_KEY:?")
    assert environment["DATABASE_URL"].endswith("@postgres:5432/spinezone")
    assert environment["REDIS_URL"].startswith("redis://redis:6379/")
    # The other services use images of their own, never the app's.
    assert {services[name]["image"] for name in ("postgres", "redis")} == {"postgres:15", "redis:7"}


def test_app_services_wait_for_a_successful_migration_and_healthy_backing_services():
    services = compose()["services"]
    for name in APP_SERVICES - {"migrate"}:
        assert services[name]["depends_on"]["migrate"] == {"condition": "service_completed_successfully"}, name
        assert services[name]["restart"] == "unless-stopped", name
        for backing in ("postgres", "redis"):
            assert services[name]["depends_on"][backing] == {"condition": "service_healthy"}, name
    assert services["migrate"]["command"] == ["python", "manage.py", "migrate", "--noinput"]
    assert services["migrate"]["restart"] == "no"
    assert services["migrate"]["depends_on"] == {"postgres": {"condition": "service_healthy"}}


def test_processes_health_checks_and_volumes():
    spec = compose()
    services = spec["services"]
    assert services["worker"]["command"][:4] == ["celery", "-A", "spinezone", "worker"]
    assert "inspect ping" in " ".join(services["worker"]["healthcheck"]["test"])
    assert services["beat"]["command"][:4] == ["celery", "-A", "spinezone", "beat"]
    assert "beatdata:/app/var" in services["beat"]["volumes"]
    assert services["beat"]["healthcheck"] == {"disable": True}
    assert "pg_isready" in " ".join(services["postgres"]["healthcheck"]["test"])
    assert "pgdata:/var/lib/postgresql/data" in services["postgres"]["volumes"]
    assert services["redis"]["healthcheck"]["test"] == ["CMD", "redis-cli", "ping"]
    assert services["redis"]["command"] == ["redis-server", "--appendonly", "yes"]
    assert set(spec["volumes"]) == {"pgdata", "redisdata", "beatdata"}
    # Only the web port is published, and only on the host's loopback.
    published = {name: s["ports"] for name, s in services.items() if "ports" in s}
    assert published == {"web": ["127.0.0.1:${PORT:-8000}:8000"]}


def test_web_runs_and_probes_exactly_what_the_image_does():
    instructions = dockerfile_instructions()
    image_command = json.loads(next(args for name, args in instructions if name == "CMD"))
    image_healthcheck = next(args for name, args in instructions if name == "HEALTHCHECK")
    image_probe = json.loads(image_healthcheck[image_healthcheck.index("CMD ") + 4 :])
    web = compose()["services"]["web"]
    assert web["command"] == image_command
    assert web["healthcheck"]["test"] == ["CMD", *image_probe]
    assert "http://127.0.0.1:8000/health/" in image_probe[-1]


# --- Dockerfile --------------------------------------------------------------------------------


def test_dockerfile_builds_a_non_root_gunicorn_image_without_secrets():
    instructions = dockerfile_instructions()
    names = [name for name, _ in instructions]
    assert instructions[0] == ("FROM", "python:3.11-slim")
    assert ("RUN", "python -m pip install -r requirements.txt") in instructions
    assert ("EXPOSE", "8000") in instructions
    user = names.index("USER")
    assert instructions[user][1] not in {"root", "0"}
    assert user < names.index("CMD")
    assert user < names.index("HEALTHCHECK")
    collectstatic = next(args for name, args in instructions if "collectstatic" in args)
    assert "DEBUG=false" in collectstatic
    assert "SECRET_KEY=" in collectstatic
    assert not any(name in {"ENV", "ARG"} and "SECRET_KEY" in args for name, args in instructions)
    command = json.loads(next(args for name, args in instructions if name == "CMD"))
    assert command[:2] == ["gunicorn", "spinezone.wsgi:application"]
    assert command[command.index("--bind") + 1] == "0.0.0.0:8000"
    assert command[command.index("--access-logfile") + 1] == "-"


def test_dockerignore_keeps_local_state_and_secrets_out_of_the_image():
    ignored = set((ROOT / ".dockerignore").read_text().split())
    assert {".git", ".venv", "var", ".env", ".env.*"} <= ignored


@pytest.mark.slow
def test_the_image_build_step_collects_static_files(tmp_path):
    collectstatic = next(args for name, args in dockerfile_instructions() if "collectstatic" in args)
    build_environment = dict(re.findall(r"\b([A-Z_]+)=(\S+)", collectstatic))
    result = subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput"],
        cwd=ROOT,
        env=clean_environment(**build_environment, SPINEZONE_VAR_DIR=str(tmp_path)),
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    # DEBUG off: WhiteNoise's manifest storage, which the running app needs.
    assert (tmp_path / "static" / "staticfiles.json").is_file()


# --- .env.example ------------------------------------------------------------------------------


def test_env_example_lists_exactly_the_names_the_settings_read(names_the_settings_read):
    documented = env_example_names()
    assert len(documented) == len(set(documented)), "a name is listed twice"
    assert set(documented) - set(COMPOSE_ONLY) == names_the_settings_read
    for name, readers in COMPOSE_ONLY.items():
        assert name not in names_the_settings_read
        for reader in readers:
            assert re.search(rf"\$\{{?{name}\b", (ROOT / reader).read_text()), f"{reader} does not use {name}"


def test_env_example_explains_every_name():
    blocks = ENV_EXAMPLE.read_text().split("\n\n")
    for name in env_example_names():
        block = next(b for b in blocks if re.search(rf"^(?:# )?{name}=", b, flags=re.MULTILINE))
        comment = [line for line in block.splitlines() if line.startswith("#") and not re.match(r"# [A-Z_]+=", line)]
        text = " ".join(comment)
        assert comment, f"{name} is not explained"
        assert "Default:" in text, f"{name} has no default documented"
        assert "Example:" in text or "Generate one:" in text or f"# {name}=" in block, f"{name} has no example"


def test_env_example_holds_no_secret():
    values = dict(re.findall(r"^([A-Z][A-Z0-9_]*)=(.*)$", ENV_EXAMPLE.read_text(), flags=re.MULTILINE))
    assert values["SECRET_KEY"] == ""
    assert values["POSTGRES_PASSWORD"] == ""
    assert values["DEBUG"] == "false"
    assert values["EMAIL_URL"] == ""


@pytest.mark.slow
def test_env_example_with_compose_overrides_passes_check_deploy():
    values = dict(re.findall(r"^([A-Z][A-Z0-9_]*)=(.*)$", ENV_EXAMPLE.read_text(), flags=re.MULTILINE))
    values = {k: v for k, v in values.items() if k not in COMPOSE_ONLY}
    compose_environment = compose()["services"]["web"]["environment"]
    overrides = {k: v for k, v in compose_environment.items() if "${" not in v}
    overrides["DATABASE_URL"] = "postgres://spinezone:spinezone@postgres:5432/spinezone"
    environment = clean_environment(**{**values, **overrides, "SECRET_KEY": "S3cr3t-Example-Key_" * 4})
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy"],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr


# --- check --deploy ----------------------------------------------------------------------------


@pytest.mark.slow
def test_check_deploy_passes_with_production_like_environment():
    environment = clean_environment(
        DEBUG="false",
        SECRET_KEY="pr0duct10n-L1ke_s3cret-Key-" + "x7Q9" * 8 + "z",
        ALLOWED_HOSTS="example.org",
        DATABASE_URL="postgres://postgres@127.0.0.1:5432/spinezone",
    )
    assert len(environment["SECRET_KEY"]) == 60
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy"], cwd=ROOT, env=environment, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr


# --- /health/ ----------------------------------------------------------------------------------


def test_health_answers_200_without_login_when_the_database_is_up(client, db):
    response = client.get("/health/")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"Database(alias='default')": "OK", "Cache(alias='default')": "OK"}
    assert "no-cache" in response["Cache-Control"]


@pytest.mark.parametrize(
    ("query", "accept"),
    [
        ("", "*/*"),
        ("", "text/html"),
        ("", "text/plain"),
        ("", "application/json"),
        ("?format=json", "*/*"),
        ("?format=text", "*/*"),
        ("?format=rss", "*/*"),
        ("?format=atom", "*/*"),
        ("?format=openmetrics", "*/*"),
    ],
)
def test_health_reveals_nothing_about_patients(client, patient_a, patient_b, query, accept):
    response = client.get(f"/health/{query}", HTTP_ACCEPT=accept)
    assert response.status_code == 200
    body = response.content.decode()
    for patient in (patient_a, patient_b):
        for value in (patient.family_name, patient.given_name, patient.mrn):
            assert value not in body
    assert "Clinic" not in body
    assert "Database" in body
    assert "Cache" in body


def test_health_answers_500_when_the_cache_is_down_and_names_no_address(client, db, settings):
    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": "redis://127.0.0.1:9/0"}
    }
    response = client.get("/health/", HTTP_ACCEPT="application/json")
    assert response.status_code == 500
    assert response.json()["Database(alias='default')"] == "OK"
    assert response.json()["Cache(alias='default')"] != "OK"
    assert "127.0.0.1" not in response.content.decode()
