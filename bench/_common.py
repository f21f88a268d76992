"""What every benchmark needs: running commands, servers in their own process groups, kyso's
environment, one-shot HTTP and openssl chores. Only 127.0.0.1 is ever targeted."""

from __future__ import annotations

import argparse
import contextlib
import http.client
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

HOST = "127.0.0.1"
KYSO = str(Path(sys.executable).with_name("kyso"))


def run(*args: str, env: dict[str, str] | None = None, timeout: float = 120) -> str:
    """Run a command to completion; its stdout, or an exit with its output on failure."""
    result = subprocess.run(
        args, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )
    if result.returncode != 0:
        sys.exit(f"{' '.join(args)} failed ({result.returncode}):\n{result.stdout}{result.stderr}")
    return result.stdout


def openssl(*args: str) -> str:
    return run("openssl", *args)


@dataclass(frozen=True)
class Server:
    name: str
    process: subprocess.Popen[bytes]
    log: Path

    def log_tail(self) -> str:
        return self.log.read_text(errors="replace")[-3000:]


def spawn(args: list[str], log: Path, env: dict[str, str] | None = None) -> Server:
    """Start a server in its own process group (so that stopping it reaches its workers)."""
    with log.open("ab") as out:
        process = subprocess.Popen(
            args, env=env, stdout=out, stderr=subprocess.STDOUT, process_group=0
        )
    return Server(" ".join(args[:2]), process, log)


def spawn_answering_app(
    port: int, log: Path, *, workers: int = 1, answer: dict[str, str] | None = None
) -> Server:
    """The engine ``select_engine`` chose serving ``_answer_app`` (reads the body, answers fixed
    bytes) as ``kyso serve`` runs it; ``answer``: its ``KYSO_BENCH_ANSWER_*`` settings."""
    here = str(Path(__file__).parent)
    if select_engine(None) == "granian":
        command = [sys.executable, "-m", "granian", "--interface", "asgi", "--working-dir", here,
                   "--host", HOST, "--port", str(port), "--workers", str(workers),
                   "--log-level", "warning", "_answer_app:app"]  # fmt: skip
    else:
        command = [sys.executable, "-m", "uvicorn", "--app-dir", here, "_answer_app:app",
                   "--host", HOST, "--port", str(port), "--workers", str(workers),
                   "--no-access-log", "--log-level", "warning"]  # fmt: skip
    return spawn(command, log, {**os.environ, **(answer or {})})


def exited(pid: int) -> bool:
    """Whether the process has exited, without reaping it (so its group id stays reserved)."""
    return os.waitid(os.P_PID, pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None


def stop(server: Server, grace: float = 10) -> None:
    """SIGTERM the process group we started, then SIGKILL what is left of it.

    ``openssl ocsp -multi`` ignores SIGTERM in its supervisor, hence the SIGKILL.
    """
    process = server.process
    if process.returncode is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline and not exited(process.pid):
        time.sleep(0.05)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=15)


def wait_until(
    ready: Callable[[], bool],
    server: Server,
    transient: tuple[type[BaseException], ...] = (OSError, http.client.HTTPException),
) -> None:
    """Poll ``ready`` until it holds; exit with the server's log if it dies or takes a minute."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if exited(server.process.pid):
            sys.exit(f"{server.name} exited before answering:\n{server.log_tail()}")
        try:
            if ready():
                return
        except transient:
            pass
        time.sleep(0.1)
    sys.exit(f"{server.name} did not answer within 60 s:\n{server.log_tail()}")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


def fetch(method: str, url: str, body: bytes | None = None, content_type: str = "") -> bytes:
    """One request on a fresh connection; the body of a 200 answer, else an exit."""
    match = re.fullmatch(r"http://([\d.]+):(\d+)(/.*)", url)
    assert match, url
    connection = http.client.HTTPConnection(match[1], int(match[2]), timeout=10)
    try:
        headers = {"Content-Type": content_type} if content_type else {}
        connection.request(method, match[3], body=body, headers=headers)
        answer = connection.getresponse()
        data = answer.read()
    finally:
        connection.close()
    if answer.status != 200:
        sys.exit(f"{method} {url} answered HTTP {answer.status}: {data[:200]!r}")
    return data


def der_to_pem(der: bytes, path: Path) -> Path:
    der_path = path.with_suffix(".der")
    der_path.write_bytes(der)
    openssl("x509", "-inform", "DER", "-in", str(der_path), "-out", str(path))
    return path


def ec_key(path: Path) -> Path:
    openssl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", str(path))
    return path


KEYSTORES = ("file", "pkcs11")
"""Key stores a benchmark can run kyso on (``--keystore``): sealed files, or SoftHSM2."""
_SOFTHSM_MODULES = (
    Path("/usr/lib/softhsm/libsofthsm2.so"),
    Path("/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so"),
)
_TOKEN_PIN = "246813"  # noqa: S105 - a throw-away SoftHSM2 token of the benchmark


def select_keystore(kind: str | None) -> str:
    """Run the kyso processes this benchmark starts on ``kind`` (default: the file store)."""
    if kind:
        os.environ["KYSO_BENCH_KEYSTORE"] = kind
    return os.environ.get("KYSO_BENCH_KEYSTORE", "file")


def keystore_env(data_dir: Path) -> dict[str, str]:
    """The key-store settings of a kyso process: nothing for the file store; for ``pkcs11`` a
    SoftHSM2 configuration and token of its own beside ``data_dir`` (made once)."""
    if os.environ.get("KYSO_BENCH_KEYSTORE", "file") != "pkcs11":
        return {}
    module = next((m for m in _SOFTHSM_MODULES if m.exists()), None)
    if module is None:
        raise RuntimeError("SoftHSM2 is not installed: scripts/setup-system installs softhsm2")
    home = data_dir.parent / "softhsm"
    conf = home / "softhsm2.conf"
    env = {"SOFTHSM2_CONF": str(conf)}
    if not conf.exists():
        (home / "tokens").mkdir(parents=True, exist_ok=True)
        conf.write_text(f"directories.tokendir = {home / 'tokens'}\nobjectstore.backend = file\n"
                        "log.level = ERROR\n")  # fmt: skip
        run("softhsm2-util", "--init-token", "--free", "--label", "kyso-bench", "--so-pin",
            "87654321", "--pin", _TOKEN_PIN, env={**os.environ, **env})  # fmt: skip
    return {**env, "KYSO_KEYSTORE": "pkcs11", "KYSO_PKCS11_MODULE": str(module),
            "KYSO_PKCS11_TOKEN_LABEL": "kyso-bench", "KYSO_PKCS11_PIN": _TOKEN_PIN}  # fmt: skip


ENGINES = ("uvicorn", "granian")
"""HTTP servers ``kyso serve`` can run on (``--engine``); uvicorn is the default."""


def select_engine(kind: str | None) -> str:
    """Serve the kyso processes (and the fixed-bytes ceiling) of this benchmark with ``kind``."""
    if kind:
        os.environ["KYSO_BENCH_ENGINE"] = kind
    return os.environ.get("KYSO_BENCH_ENGINE", "uvicorn")


def add_server_choices(parser: argparse.ArgumentParser) -> None:
    """``--keystore`` and ``--engine``: what the kyso processes of a benchmark run on."""
    parser.add_argument("--keystore", choices=KEYSTORES,
                        help="key store: sealed files (default) or a SoftHSM2 token")  # fmt: skip
    parser.add_argument("--engine", choices=ENGINES,
                        help="kyso serve --engine: uvicorn (default) or granian")  # fmt: skip


def apply_server_choices(args: argparse.Namespace) -> None:
    select_keystore(args.keystore)
    select_engine(args.engine)


def kyso_env(data_dir: Path, port: int) -> dict[str, str]:
    """A kyso process's environment: SQLite in ``data_dir``, certificates naming ``port``, the
    key store ``select_keystore`` chose, the engine ``select_engine`` chose."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("KYSO_")}
    env.update(
        {
            "KYSO_DATA_DIR": str(data_dir),
            "KYSO_DATABASE_URL": f"sqlite:///{data_dir / 'kyso.db'}",
            "KYSO_PUBLIC_URL": f"http://{HOST}:{port}",
        }
    )
    env.update(keystore_env(data_dir))
    env["KYSO_SERVE_ENGINE"] = select_engine(None)
    return env


def connections_per_process(port: int) -> list[int]:
    """How the established connections to ``port`` are spread over the processes accepting
    them (a server's workers), largest first, from ``ss``; empty if ``ss`` cannot tell."""
    try:
        lines = subprocess.run(
            ["ss", "-tnpH", "state", "established", f"( sport = :{port} )"],
            capture_output=True, text=True, timeout=10, check=False,
        ).stdout.splitlines()  # fmt: skip
    except (OSError, subprocess.TimeoutExpired):
        return []
    counts: dict[str, int] = {}
    for line in lines:
        found = re.search(r"pid=(\d+)", line)
        if found:
            counts[found[1]] = counts.get(found[1], 0) + 1
    return sorted(counts.values(), reverse=True)


class SpreadSampler:
    """``connections_per_process`` taken once, ``after`` seconds into a measurement."""

    def __init__(self, port: int, after: float) -> None:
        self.spread: list[int] = []
        self._timer = threading.Timer(after, self._sample, args=(port,))

    def _sample(self, port: int) -> None:
        self.spread = connections_per_process(port)

    def __enter__(self) -> SpreadSampler:
        self._timer.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._timer.cancel()
        self._timer.join()
