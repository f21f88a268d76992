"""A real ``kyso serve`` process on a free port, and the ``kyso`` command beside it."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from tests.support.databases import fresh_database

KYSO = str(Path(sys.executable).with_name("kyso"))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def kyso_env(data_dir: Path, database_url: str, **extra: str) -> dict[str, str]:
    """The environment of a kyso process: a clean slate but for what the test sets."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("KYSO_")}
    env.update(
        {"KYSO_DATA_DIR": str(data_dir), "KYSO_DATABASE_URL": database_url, "KYSO_ENV": "test"}
    )
    # Every test client is 127.0.0.1: the per-address sign-in wait would mix unrelated tests'
    # failures. It is tested on a server of its own (tests/web/test_web_security.py).
    env["KYSO_LOGIN_SOURCE_FAILURES"] = "0"
    env["KYSO_REGISTER_SOURCE_LIMIT"] = "0"  # the same for registrations (test_registration)
    env.update(extra)
    return env


def run_kyso(
    env: dict[str, str], *args: str, check: bool = True
) -> subprocess.CompletedProcess[str]:
    """Run the ``kyso`` command line as an operator would."""
    result = subprocess.run(
        [KYSO, *args], env=env, capture_output=True, text=True, timeout=120, check=False
    )
    if check and result.returncode != 0:
        raise AssertionError(f"kyso {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
    return result


@dataclass
class KysoServer:
    """One ``kyso serve`` process; ``start`` and ``stop`` may be called again (restart)."""

    data_dir: Path
    database_url: str
    port: int = field(default_factory=free_port)
    extra_env: dict[str, str] = field(default_factory=dict)
    workers: int = 1
    serve_args: tuple[str, ...] = ()
    """More options of ``kyso serve`` (e.g. ``--log-level debug``)."""
    process: subprocess.Popen[bytes] | None = None
    log_path: Path | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def env(self) -> dict[str, str]:
        return kyso_env(self.data_dir, self.database_url, **self.extra_env)

    def cli(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return run_kyso(self.env, *args, check=check)

    def start(self, timeout: float = 60) -> KysoServer:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.log_path = self.data_dir.parent / f"serve-{self.port}.log"
        log = open(self.log_path, "ab")  # noqa: SIM115 - lives as long as the process
        command = [KYSO, "serve", "--port", str(self.port), "--workers", str(self.workers)]
        self.process = subprocess.Popen(
            [*command, *self.serve_args],
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"kyso serve exited:\n{self.log()}")
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        self.stop()
        raise AssertionError(f"kyso serve did not become healthy:\n{self.log()}")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path else ""


@contextmanager
def own_server(backend: str, directory: Path, **options: Any) -> Iterator[KysoServer]:
    """A server of the test's own over a fresh database of ``backend`` (options as
    :class:`KysoServer`'s), stopped and its database dropped afterwards."""
    with fresh_database(backend, directory) as url:
        running = KysoServer(data_dir=directory / "kyso-data", database_url=url, **options)
        try:
            yield running.start()
        finally:
            running.stop()


def require_tool(name: str) -> str:
    """The path of an external tool the tests rely on; failing loudly, never skipping."""
    path = shutil.which(name)
    if path is None:
        raise AssertionError(f"{name} is not installed: .ci/run installs it")
    return path
