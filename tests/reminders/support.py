"""Real servers and processes for the reminder tests (and bench/reminder_delivery.py).

- `SmtpSink`: an aiosmtpd SMTP server on loopback that records every message and answers each
  recipient as scripted (e.g. 451 once, then 250; or 550).
- `RedisServer`: a private redis-server on a free port, no persistence, that a test may stop and
  start again. The machine's shared Redis on 6379 is never touched.
- `WorkerProcess`: `celery -A spinezone worker` as a subprocess against the test's database, in its
  own process group so a test can SIGKILL it (and its pool children) like the OOM killer would.
- `poll`: wait for a condition with a deadline; the tests have no timing sleeps.
"""

from __future__ import annotations

import email
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from email import policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import redis
from aiosmtpd.controller import Controller

ROOT = Path(__file__).resolve().parents[2]
SITE_URL = "https://spinezone.example.test"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def poll(condition: Callable[[], Any], *, timeout: float, every: float = 0.05, message: str = "") -> Any:
    """Call `condition` until it returns something truthy; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up after {timeout} s: {message or condition}")
        time.sleep(every)


# --- SMTP -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Received:
    mail_from: str
    rcpt_tos: tuple[str, ...]
    message: EmailMessage

    @property
    def message_id(self) -> str:
        return self.message["Message-ID"]

    def text(self) -> str:
        return self.message.get_body(("plain",)).get_content()

    def html(self) -> str:
        return self.message.get_body(("html",)).get_content()


class SmtpSink:
    """Records messages; `script(address, [451, 250])` answers that recipient's RCPTs in turn."""

    def __init__(self) -> None:
        self.port = free_port()
        self.received: list[Received] = []
        self.rcpt_attempts: Counter[str] = Counter()
        self._scripts: dict[str, list[int]] = {}
        self._lock = threading.Condition()
        self._controller = Controller(self, hostname="127.0.0.1", port=self.port)

    def start(self) -> SmtpSink:
        self._controller.start()
        return self

    def stop(self) -> None:
        self._controller.stop()

    def reset(self) -> None:
        with self._lock:
            self.received.clear()
            self.rcpt_attempts.clear()
            self._scripts.clear()

    def script(self, address: str, codes: list[int]) -> None:
        with self._lock:
            self._scripts[address.lower()] = list(codes)

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    def count(self) -> int:
        with self._lock:
            return len(self.received)

    def messages(self) -> list[Received]:
        with self._lock:
            return list(self.received)

    def recipients(self) -> Counter[str]:
        return Counter(rcpt for received in self.messages() for rcpt in received.rcpt_tos)

    # aiosmtpd handler hooks
    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, options: Any) -> str:
        with self._lock:
            self.rcpt_attempts[address.lower()] += 1
            script = self._scripts.get(address.lower())
            code = script.pop(0) if script else 250
        if code == 451:
            return "451 4.7.1 Greylisted, try again later"
        if code == 550:
            return "550 5.1.1 Mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = email.message_from_bytes(envelope.content, policy=policy.default)
        with self._lock:
            self.received.append(Received(envelope.mail_from, tuple(envelope.rcpt_tos), message))
            self._lock.notify_all()
        return "250 Message accepted"


# --- Redis ------------------------------------------------------------------------------------------


class RedisServer:
    def __init__(self, workdir: Path) -> None:
        self.port = free_port()
        self.workdir = workdir
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> RedisServer:
        command = ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
        self.process = subprocess.Popen(
            [*command, "--dir", str(self.workdir)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        poll(self.answers, timeout=10, message=f"redis-server on port {self.port} to answer")
        return self

    def client(self) -> redis.Redis:
        return redis.Redis(host="127.0.0.1", port=self.port, socket_timeout=2)

    def answers(self) -> bool:
        try:
            return bool(self.client().ping())
        except redis.RedisError:
            return False

    def flush(self) -> None:
        self.client().flushall()

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)
            self.process = None


# --- Celery worker ------------------------------------------------------------------------------------


def worker_environment(*, database_url: str, broker_url: str, smtp_url: str, **extra: str) -> dict[str, str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("CELERY_", "PYTEST_"))}
    environment.update(
        DJANGO_SETTINGS_MODULE="tests.reminders.worker_settings",
        DATABASE_URL=database_url,
        REDIS_URL=broker_url,
        CELERY_BROKER_URL=broker_url,
        EMAIL_URL=smtp_url,
        SITE_URL=SITE_URL,
        PYTHONUNBUFFERED="1",
        **extra,
    )
    return environment


class WorkerProcess:
    """`celery -A spinezone worker` with a prefork pool, in its own process group."""

    def __init__(self, environment: dict[str, str], *, name: str, concurrency: int = 2) -> None:
        self.environment = environment
        self.name = name
        self.concurrency = concurrency
        self.lines: list[str] = []
        self.process: subprocess.Popen | None = None
        self._ready = threading.Event()

    def start(self, timeout: float = 30) -> WorkerProcess:
        command = [sys.executable, "-m", "celery", "-A", "spinezone", "worker", "--pool", "prefork"]
        command += ["--concurrency", str(self.concurrency), "--hostname", f"{self.name}@%h", "--loglevel", "INFO"]
        command += ["--without-gossip", "--without-mingle", "--without-heartbeat"]
        self.process = subprocess.Popen(
            command,
            cwd=ROOT,
            env=self.environment,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        threading.Thread(target=self._read, daemon=True).start()
        if not self._ready.wait(timeout):
            self.kill()
            raise AssertionError(f"worker {self.name} did not start:\n" + "".join(self.lines[-40:]))
        return self

    def _read(self) -> None:
        assert self.process is not None
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line)
            if " ready." in line:
                self._ready.set()

    def kill(self) -> None:
        """SIGKILL the worker and its pool children at once: no warm shutdown, no acks."""
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill()

    def log(self) -> str:
        return "".join(self.lines)


@contextmanager
def running(*workers: WorkerProcess) -> Iterator[tuple[WorkerProcess, ...]]:
    try:
        for worker in workers:
            worker.start()
        yield workers
    finally:
        for worker in workers:
            worker.stop()
