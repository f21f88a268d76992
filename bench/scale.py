"""P8: signing throughput with two server processes against one, over one PostgreSQL.

The same load both times: ``--clients`` API clients signing a one-page PDF at B-T, each with
batch authorisations (the PIN once per 100 signatures), for ``--duration`` seconds after a
warm-up. The clients sign as ``--citizens`` different citizens (client ``i`` as citizen
``i mod N``): a service's load comes from many citizens, and one citizen's signatures are
charged one after the other by design (each takes her account's row lock for its charge),
which no number of processes can overlap (``--citizens 1`` measures that case). Both servers
are ``kyso serve`` over the same fresh database; only ``--workers`` differs. Prints both rates
and their ratio (goal >= 1.6).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import uuid
from pathlib import Path

import psycopg
from _common import free_port, kyso_env
from sign import BATCH, Citizen, Kyso, api_rate, login, make_citizen, one_page_pdf

ADMIN_URL = os.environ.get("KYSO_BENCH_POSTGRES_URL", "postgresql://127.0.0.1:5432/test")


def measure(
    workers: int, port: int, env: dict[str, str], work: Path, clients: int, seconds: float,
    warmup: float, citizens: list[Citizen] | int,
) -> tuple[float, dict[str, int], list[Citizen]]:  # fmt: skip
    """The rate with ``workers`` processes; ``citizens`` are made here when given as a count."""
    kyso = Kyso(env, port, workers, work / f"kyso-{workers}.log")
    kyso.start()
    try:
        if isinstance(citizens, int):
            citizens = [make_citizen(kyso, f"0011900{n:05d}") for n in range(citizens)]
        signers = [(login(kyso.base, c.email), c.credential_id) for c in citizens]
        pdf = one_page_pdf()
        batched = {"batch": BATCH, "signers": signers}
        api_rate(kyso.base, "", pdf, "B-T", clients, warmup, **batched)
        rate = api_rate(kyso.base, "", pdf, "B-T", clients, seconds, **batched)
    finally:
        kyso.stop()
    return rate.per_second, rate.failures, citizens


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="4 s per side, not 10 s")
    parser.add_argument("--json", action="store_true", help="print one JSON line")
    parser.add_argument("--clients", type=int, default=8, help="concurrent API clients")
    parser.add_argument("--citizens", type=int, default=4, help="citizens the clients sign as")
    parser.add_argument("--duration", type=float, help="seconds measured per side")
    options = parser.parse_args(argv)
    seconds = options.duration or (4.0 if options.quick else 10.0)
    warmup = 1.5 if options.quick else 3.0
    name = f"kyso_bench_scale_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(ADMIN_URL, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        with tempfile.TemporaryDirectory(prefix="kyso-scale-") as folder:
            work = Path(folder)
            port = free_port()  # both servers serve on it in turn: the URLs in the certificates
            env = kyso_env(work / "kyso-data", port)
            env["KYSO_DATABASE_URL"] = f"{ADMIN_URL.rpartition('/')[0]}/{name}"
            Kyso(env, 0, 1, work / "init.log").cli("init")
            args = (port, env, work, options.clients, seconds, warmup)
            one, one_failures, citizens = measure(1, *args, options.citizens)
            two, two_failures, _ = measure(2, *args, citizens)
    finally:
        with psycopg.connect(ADMIN_URL, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    ratio = two / one if one else float("inf")
    figures = {
        "metric": "P8",
        "ratio": round(ratio, 3),
        "goal": ">= 1.6",
        "two_processes_per_s": round(two, 2),
        "one_process_per_s": round(one, 2),
        "failures": {"one": one_failures, "two": two_failures},
        "clients": options.clients,
        "citizens": options.citizens,
        "duration_s": seconds,
        "level": "B-T",
        "batch": BATCH,
        "database": "PostgreSQL",
        "cpus": os.cpu_count(),
    }
    if options.json:
        print(json.dumps(figures))
        return
    print("P8 signing throughput, kyso serve --workers 2 against --workers 1 (PostgreSQL)")
    print(f"  {options.clients} clients signing as {options.citizens} citizens, {seconds:g} s")
    print(f"  one process   {one:8.1f} signatures/s  failures {one_failures}")
    print(f"  two processes {two:8.1f} signatures/s  failures {two_failures}")
    print(f"  ratio: {ratio:.2f} (goal >= 1.6)")


if __name__ == "__main__":
    main(sys.argv[1:])
