"""Two ``kyso serve`` processes on one fresh PostgreSQL database, as a load balancer's pool."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path

from tests.support.databases import fresh_database
from tests.support.server import KysoServer, free_port


@dataclass
class Pair:
    first: KysoServer
    second: KysoServer


@contextmanager
def two_servers(directory: Path, **extra_env: str) -> Iterator[Pair]:
    with fresh_database("postgresql", directory) as url:
        port = free_port()
        env = {"KYSO_PUBLIC_URL": f"http://127.0.0.1:{port}", **extra_env}
        first = KysoServer(data_dir=directory / "kyso-data", database_url=url, port=port,
                           extra_env=env).start()  # fmt: skip
        second = replace(first, port=free_port(), process=None).start()
        try:
            yield Pair(first, second)
        finally:
            second.stop()
            first.stop()
