"""Time-stamping throughput: kyso's TSA against ``openssl ts -reply`` (goal P6: >= 5x).

Measured: RFC 3161 time-stamp responses per second for the same fixed set of SHA-256
time-stamp queries (made by ``openssl ts -query -cert``, each with its nonce), from

* ours: ``kyso serve`` answering ``POST /pki/tsa`` on 127.0.0.1, driven by ``wrk`` (a Lua script
  rotating through the DER queries), once with one worker and once with one worker per core;
* the reference: ``openssl ts -reply -queryfile Q -config tsa.cnf``, one process per request,
  with its own ECDSA P-256 root and TSA certificate (critical EKU timeStamping, ESSCertIDv2
  with SHA-256, accuracy 1 s, the TSA name and certificates included as kyso does), run
  back to back for the duration, once sequentially and once with as many in parallel as
  there are cores (each parallel runner with its own serial file, as openssl rewrites it).

The headline ratio compares equal parallelism: ours with one worker per core against the
reference with one process per core; the single-process ratio is printed beside it. Before
measuring, one reply from each side is checked with ``openssl ts -reply -in R -text``
(``Status: Granted.``) and verified against its query and CA with ``openssl ts -verify``.

Usage: ``python bench/tsa.py [--quick] [--json]``.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, replace
from pathlib import Path

from _common import (
    HOST,
    Server,
    SpreadSampler,
    add_server_choices,
    apply_server_choices,
    der_to_pem,
    ec_key,
    fetch,
    free_port,
    kyso_env,
    openssl,
    run,
    spawn,
    stop,
    wait_until,
)

KYSO = str(Path(sys.executable).with_name("kyso"))
QUERIES = 8
TIMESTAMP_QUERY = "application/timestamp-query"
REFERENCE_POLICY = "1.2.3.4.1"

WRK_SCRIPT = r"""
-- Rotates through the DER queries named after "--"; counts answers that are not HTTP 200
-- or too short to carry a token (a rejection is a PKIStatusInfo of a few dozen bytes).
local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  bad = 0
  bodies = {}
  for i, path in ipairs(args) do
    local file = assert(io.open(path, "rb"))
    local headers = {["Content-Type"] = "application/timestamp-query"}
    bodies[i] = wrk.format("POST", nil, headers, file:read("*a"))
    file:close()
  end
  counter = 0
end

function request()
  counter = counter % #bodies + 1
  return bodies[counter]
end

function response(status, headers, body)
  if status ~= 200 or #body < 200 then
    bad = bad + 1
  end
end

function done(summary, latency, requests)
  local total_bad = 0
  for _, thread in ipairs(threads) do
    total_bad = total_bad + thread:get("bad")
  end
  local e = summary.errors
  io.write(string.format("WRK_RESULT %d %d %d %d %d %d %d %d %d %d\n",
    summary.requests, summary.duration, total_bad, e.connect, e.read, e.write, e.status,
    e.timeout, latency:percentile(50), latency:percentile(99)))
end
"""

TSA_CONFIG = """\
[ tsa ]
default_tsa = tsa_config

[ tsa_config ]
dir = {dir}
serial = $dir/serial-{runner}
crypto_device = builtin
signer_cert = $dir/tsa.pem
certs = $dir/root.pem
signer_key = $dir/tsa.key
signer_digest = sha256
default_policy = {policy}
other_policies = {policy}.1
digests = sha256, sha384, sha512
accuracy = secs:1
ordering = no
tsa_name = yes
ess_cert_id_chain = no
ess_cert_id_alg = sha256
"""


@dataclass(frozen=True)
class Options:
    duration: int
    warmup: int
    connections: int
    cores: int
    as_json: bool
    keep: bool


@dataclass(frozen=True)
class Rate:
    """Answers per second of one measurement, with what went wrong during it."""

    answers: int
    seconds: float
    failures: int
    p50_ms: float | None = None
    p99_ms: float | None = None
    spread: tuple[int, ...] = ()
    """wrk's connections per kyso worker, sampled halfway (``SpreadSampler``)."""

    @property
    def per_second(self) -> float:
        return self.answers / self.seconds


# --- processes -------------------------------------------------------------------------------


# --- HTTP ------------------------------------------------------------------------------------


# --- queries and replies ---------------------------------------------------------------------


def make_queries(directory: Path) -> list[Path]:
    """SHA-256 queries asking for the TSA certificate, with openssl's random nonce."""
    directory.mkdir()
    queries = []
    for i in range(QUERIES):
        data = directory / f"document{i}.txt"
        data.write_text(f"Hợp đồng số {i}: bench document to time-stamp\n")
        query = directory / f"query{i}.tsq"
        openssl("ts", "-query", "-data", str(data), "-sha256", "-cert", "-out", str(query))
        queries.append(query)
    return queries


def check_reply(name: str, query: Path, reply: Path, root: Path, untrusted: Path | None) -> None:
    """Exit unless the reply is granted and verifies against its query and CA."""
    text = openssl("ts", "-reply", "-in", str(reply), "-text")
    if "Status: Granted." not in text:
        sys.exit(f"{name}: the reply is not granted:\n{text}")
    chain = ["-untrusted", str(untrusted)] if untrusted else []
    result = subprocess.run(
        ["openssl", "ts", "-verify", "-queryfile", str(query), "-in", str(reply),
         "-CAfile", str(root), *chain],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    if "Verification: OK" not in result.stdout:
        sys.exit(f"{name}: openssl ts -verify fails:\n{result.stdout}{result.stderr}")


# --- the reference: openssl ts -reply, one process per request -------------------------------


def make_reference_tsa(directory: Path, runners: int) -> list[Path]:
    """Root, TSA certificate and one config (own serial file) per runner; the configs."""
    directory.mkdir()
    root_key = ec_key(directory / "root.key")
    openssl(
        "req", "-x509", "-new", "-key", str(root_key), "-subj", "/CN=bench reference root",
        "-days", "30", "-out", str(directory / "root.pem"),
        "-addext", "basicConstraints=critical,CA:TRUE",
        "-addext", "keyUsage=critical,keyCertSign,cRLSign",
    )  # fmt: skip
    key = ec_key(directory / "tsa.key")
    csr = directory / "tsa.csr"
    ext = directory / "tsa.ext"
    ext.write_text(
        "basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature,nonRepudiation\n"
        "extendedKeyUsage=critical,timeStamping\n"
    )
    openssl("req", "-new", "-key", str(key), "-subj", "/CN=bench reference TSA", "-out", str(csr))
    openssl(
        "x509", "-req", "-in", str(csr), "-CA", str(directory / "root.pem"),
        "-CAkey", str(root_key), "-set_serial", "0x3000", "-days", "30",
        "-extfile", str(ext), "-out", str(directory / "tsa.pem"),
    )  # fmt: skip
    configs = []
    for runner in range(runners):
        (directory / f"serial-{runner}").write_text(f"{runner + 1:02X}000001\n")
        config = directory / f"tsa-{runner}.cnf"
        config.write_text(TSA_CONFIG.format(dir=directory, runner=runner, policy=REFERENCE_POLICY))
        configs.append(config)
    return configs


def reply_command(query: Path, config: Path, out: str) -> list[str]:
    return ["openssl", "ts", "-reply", "-queryfile", str(query), "-config", str(config),
            "-out", out]  # fmt: skip


def measure_reference(configs: list[Path], queries: list[Path], seconds: float) -> Rate:
    """``len(configs)`` runners, each starting ``openssl ts -reply`` back to back until the end."""
    counts = [0] * len(configs)
    failures = [0] * len(configs)
    start = time.monotonic()
    deadline = start + seconds

    def runner(index: int) -> None:
        i = index
        while time.monotonic() < deadline:
            command = reply_command(queries[i % len(queries)], configs[index], os.devnull)
            result = subprocess.run(command, capture_output=True, timeout=60, check=False)
            if result.returncode == 0:
                counts[index] += 1
            else:
                failures[index] += 1
            i += 1

    threads = [threading.Thread(target=runner, args=(n,)) for n in range(len(configs))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return Rate(sum(counts), time.monotonic() - start, sum(failures))


# --- ours: kyso serve ------------------------------------------------------------------------


def start_kyso(env: dict[str, str], port: int, workers: int, log: Path) -> Server:
    server = spawn(
        [KYSO, "serve", "--host", HOST, "--port", str(port), "--workers", str(workers)], log, env
    )
    wait_until(lambda: bool(fetch("GET", f"http://{HOST}:{port}/healthz")), server)
    return server


def wrk(script: Path, url: str, queries: list[Path], options: Options, seconds: int) -> Rate:
    output = run(
        "wrk", "-t", "1", "-c", str(options.connections), "-d", f"{seconds}s", "--timeout", "5s",
        "-s", str(script), url, "--", *map(str, queries), timeout=seconds + 60,
    )  # fmt: skip
    line = next((x for x in output.splitlines() if x.startswith("WRK_RESULT ")), None)
    if line is None:
        sys.exit(f"wrk printed no result:\n{output}")
    n = [int(x) for x in line.split()[1:]]
    bad, socket_errors = n[2], sum(n[3:8])
    return Rate(n[0] - bad, n[1] / 1e6, bad + socket_errors, n[8] / 1000, n[9] / 1000)


def kyso_log_counts(log: Path) -> dict[str, int]:
    """HTTP statuses of ``POST /pki/tsa`` in uvicorn's access log, and the errors logged.

    wrk stops with requests in flight; kyso logs each of those as an unhandled
    ``ClientDisconnect``, counted apart from other errors.
    """
    text = log.read_text(errors="replace")
    counts: dict[str, int] = {}
    for status in re.findall(r'"POST /pki/tsa HTTP/1\.1" (\d{3})', text):
        counts[status] = counts.get(status, 0) + 1
    disconnects = text.count("starlette.requests.ClientDisconnect")
    counts["client_disconnect_tracebacks"] = disconnects
    counts["other_tracebacks"] = text.count("Traceback") - disconnects
    counts["tsa_failures"] = text.count("time-stamping failure")
    return counts


def measure_kyso(
    work: Path, queries: list[Path], options: Options
) -> tuple[dict[int, Rate], dict[str, int]]:
    """Check a reply, then the rate with one worker and with one worker per core."""
    port = free_port()
    env = kyso_env(work / "kyso-data", port)
    run(KYSO, "init", env=env)
    base = f"http://{HOST}:{port}"
    script = work / "tsa.lua"
    script.write_text(WRK_SCRIPT)
    log = work / "kyso.log"
    rates: dict[int, Rate] = {}
    for workers in sorted({1, options.cores}):
        server = start_kyso(env, port, workers, log)
        try:
            if not rates:
                root = der_to_pem(fetch("GET", f"{base}/pki/ca/root.crt"), work / "kyso-root.pem")
                issuing = der_to_pem(
                    fetch("GET", f"{base}/pki/ca/issuing.crt"), work / "kyso-issuing.pem"
                )
                reply = work / "kyso-reply.tsr"
                reply.write_bytes(
                    fetch("POST", f"{base}/pki/tsa", queries[0].read_bytes(), TIMESTAMP_QUERY)
                )
                check_reply("kyso", queries[0], reply, root, issuing)
            wrk(script, f"{base}/pki/tsa", queries, options, options.warmup)
            with SpreadSampler(port, options.duration / 2) as sampler:
                rate = wrk(script, f"{base}/pki/tsa", queries, options, options.duration)
            rates[workers] = replace(rate, spread=tuple(sampler.spread))
        finally:
            stop(server)
    return rates, kyso_log_counts(log)


def measure_openssl(work: Path, queries: list[Path], options: Options) -> dict[int, Rate]:
    """Check a reply, then the rate sequentially and with one process per core."""
    configs = make_reference_tsa(work / "reference", options.cores)
    reply = work / "reference-reply.tsr"
    run(*reply_command(queries[0], configs[0], str(reply)))
    check_reply("openssl", queries[0], reply, work / "reference" / "root.pem", None)
    return {
        runners: measure_reference(configs[:runners], queries, options.duration)
        for runners in sorted({1, options.cores})
    }


# --- the benchmark ---------------------------------------------------------------------------


def parse_options(argv: list[str]) -> Options:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="3 s per measurement, not 10 s")
    parser.add_argument("--json", action="store_true", help="print one JSON line")
    parser.add_argument("--duration", type=int, help="seconds per measurement")
    parser.add_argument("--connections", type=int, default=16, help="wrk connections")
    parser.add_argument("--cores", type=int, default=os.cpu_count() or 1, help="parallelism")
    parser.add_argument("--keep", action="store_true", help="keep the work directory and logs")
    add_server_choices(parser)
    args = parser.parse_args(argv)
    apply_server_choices(args)
    return Options(
        duration=args.duration or (3 if args.quick else 10),
        warmup=1 if args.quick else 2,
        connections=args.connections,
        cores=args.cores,
        as_json=args.json,
        keep=args.keep,
    )


def report(
    options: Options, ours: dict[int, Rate], reference: dict[int, Rate], log: dict[str, int]
) -> None:
    cores = options.cores
    ratio = ours[cores].per_second / reference[cores].per_second
    single_ratio = ours[1].per_second / reference[1].per_second
    figures = {
        "metric": "P6",
        "ratio": round(ratio, 2),
        "ours_per_s": round(ours[cores].per_second, 1),
        "reference_per_s": round(reference[cores].per_second, 1),
        "goal_ratio": 5,
        "parallelism": cores,
        "single_ratio": round(single_ratio, 2),
        "ours_single_worker_per_s": round(ours[1].per_second, 1),
        "reference_sequential_per_s": round(reference[1].per_second, 1),
        "ours_p50_ms": ours[cores].p50_ms,
        "ours_p99_ms": ours[cores].p99_ms,
        "ours_connections_per_worker": list(ours[cores].spread),
        "ours_failures": sum(rate.failures for rate in ours.values()),
        "reference_failures": sum(rate.failures for rate in reference.values()),
        "ours_log": log,
        "connections": options.connections,
        "duration_s": options.duration,
        "queries": QUERIES,
        "client": "wrk (ours); openssl ts -reply per request (reference)",
        "cpus": os.cpu_count(),
    }
    if options.as_json:
        print(json.dumps(figures))
        return
    print("P6 time-stamp responses per second (SHA-256 queries with nonce and -cert)")
    print(
        f"  {QUERIES} queries; {options.duration} s per measurement; ours driven by wrk "
        f"(1 thread, {options.connections} connections over 127.0.0.1); {os.cpu_count()} CPUs"
    )
    rows = [
        ("ours, kyso serve --workers 1", ours[1]),
        (f"ours, kyso serve --workers {cores}", ours[cores]),
        ("openssl ts -reply, sequential", reference[1]),
        (f"openssl ts -reply, {cores} in parallel", reference[cores]),
    ]
    for name, rate in rows if cores > 1 else [rows[0], rows[2]]:
        latency = f"  p50 {rate.p50_ms:.2f} ms  p99 {rate.p99_ms:.2f} ms" if rate.p50_ms else ""
        print(f"  {name:<40} {rate.per_second:8.1f} /s  failures {rate.failures}{latency}")
    print(f"  kyso log: {log}")
    print(f"  ratio ours/openssl, {cores} process(es) each: {ratio:.2f} (goal >= 5)")
    if cores > 1:
        print(f"  ratio ours/openssl, 1 process each: {single_ratio:.2f}")


def main(argv: list[str]) -> None:
    options = parse_options(argv)
    for tool in ("openssl", "wrk"):
        if shutil.which(tool) is None:
            sys.exit(f"{tool} is needed")
    work = Path(tempfile.mkdtemp(prefix="kyso-bench-tsa-"))
    try:
        queries = make_queries(work / "queries")
        ours, log = measure_kyso(work, queries, options)
        reference = measure_openssl(work, queries, options)
        report(options, ours, reference, log)
    finally:
        if options.keep:
            sys.stdout.flush()
            print(f"work directory kept: {work}", file=sys.stderr)
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main(sys.argv[1:])
