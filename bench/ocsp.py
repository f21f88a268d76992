"""OCSP throughput: kyso's responder against ``openssl ocsp`` as a responder: P5n (every request
with a nonce, goal >= 1x) and P5c (no nonce: RFC 5019 pre-produced answers, goal >= 3x openssl
and >= 0.8x the engine's own fixed-bytes ceiling). P5 repeats P5n for older scripts.

Measured: OCSP responses per second, over HTTP POST on 127.0.0.1, of

* ours: ``kyso serve`` answering ``POST /pki/ocsp`` (ECDSA P-256 delegated responder, its
  revocation records in SQLite), with ``--workers N``;
* the ceiling: the engine (uvicorn or granian, as ``kyso serve --engine`` runs it) serving an
  ASGI app that reads the body and answers fixed bytes of the same size: no responder written in
  Python and served as an ASGI app can answer faster (under uvicorn, kyso answers the PKI POSTs
  in its HTTP protocol, below ASGI: ``api/pki_protocol.py``, so it can pass this ceiling);
* the reference: ``openssl ocsp -index index.txt -port P -multi N`` (the same key type: an
  ECDSA P-256 root, a delegated OCSP signer and leaf certificates made here with openssl).

Both get the same number of worker processes, the same kind of requests (one certificate per
request, SHA-1 CertID as ``openssl ocsp -reqout`` makes them, first with a nonce, then without
(only without: ``--no-nonce``); half the certificates good, half revoked), the same client
(``wrk`` with a Lua script that rotates through the DER bodies) with the same threads,
connections and duration,
one after the other in the same run. Every server is first checked to answer each request
correctly (``successful``, the expected good/revoked status, a signature ``openssl ocsp``
verifies, the nonce echoed).

``openssl ocsp -port`` listens on every interface, so the script re-executes itself under
``unshare --net`` and runs servers and client in a private network namespace with only ``lo``.

Two quirks of ``openssl ocsp`` 3.0 shape the method: it answers HTTP/1.0 and closes every
connection (so the client reconnects for each of its requests, whereas kyso keeps connections
alive: the figures are each server as a client meets it), and a connection closed before its
request line makes it spin on that connection for ever (openssl/openssl#31129). Hence wrk's
probe connection is disabled in the Lua script, readiness is checked with a real request, and
openssl is measured on a fresh responder (a C program needs no warm-up; kyso gets one).

Usage: ``python bench/ocsp.py [--quick] [--json] [--engine uvicorn|granian]``.
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
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from _common import (
    HOST,
    Server,
    add_server_choices,
    apply_server_choices,
    der_to_pem,
    ec_key,
    fetch,
    kyso_env,
    openssl,
    run,
    select_engine,
    spawn,
    spawn_answering_app,
    stop,
    wait_until,
)
from asn1crypto import ocsp as asn1_ocsp

KYSO_PORT = 8123
REFERENCE_PORT = 8124
CEILING_PORT = 8125
KYSO = str(Path(sys.executable).with_name("kyso"))
NETNS_MARK = "KYSO_BENCH_NETNS"
CERTIFICATES = 4
"""Certificates per side; the odd-numbered ones are revoked."""
OCSP_REQUEST = "application/ocsp-request"
LEAF_EXTENSIONS = "basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\n"

WRK_SCRIPT = r"""
-- Rotates through the DER bodies named after "--"; counts answers that are not HTTP 200
-- with an OCSP response longer than an unsigned error (5 bytes: 30 03 0a 01 xx).
local threads = {}

-- No probe connection: openssl ocsp 3.0 spins for ever on a connection closed unused.
function wrk.resolve(host, service)
  wrk.addrs = wrk.lookup(host, service)
end

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  bad = 0
  bodies = {}
  for i, path in ipairs(args) do
    local file = assert(io.open(path, "rb"))
    local headers = {["Content-Type"] = "application/ocsp-request"}
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
  if status ~= 200 or #body < 16 then
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


@dataclass(frozen=True)
class Options:
    duration: int
    warmup: int
    connections: int
    threads: int
    processes: int
    nonces: tuple[bool, ...]
    """The request kinds measured: with a nonce (P5n), without (P5c)."""
    as_json: bool
    keep: bool


@dataclass(frozen=True)
class Side:
    """One responder's test material: its requests, their expected statuses, its trust anchors."""

    name: str
    url: str
    requests: list[Path]
    expected: list[str]
    root: Path
    intermediates: Path | None


@dataclass(frozen=True)
class WrkResult:
    requests: int
    seconds: float
    bad: int
    socket_errors: dict[str, int]
    p50_ms: float
    p99_ms: float

    @property
    def per_second(self) -> float:
        return (self.requests - self.bad) / self.seconds


# --- processes -------------------------------------------------------------------------------


# --- network namespace -----------------------------------------------------------------------


def enter_private_netns(argv: list[str]) -> None:
    """Re-execute this script under ``unshare --net`` unless that was already done."""
    if os.environ.get(NETNS_MARK) == "1":
        return
    if shutil.which("unshare") is None:
        sys.exit("unshare (util-linux) is needed: openssl ocsp listens on every interface")
    env = {**os.environ, NETNS_MARK: "1"}
    command = ["unshare", "--net", "--", sys.executable, str(Path(__file__).resolve()), *argv]
    os.execvpe("unshare", command, env)  # noqa: S606 - a fixed argument list


def prepare_netns() -> None:
    """Bring up ``lo``, check that nothing else exists, give loopback enough ephemeral ports."""
    run("ip", "link", "set", "lo", "up")
    links = re.findall(r"^\d+: ([^:@]+)", run("ip", "-o", "link", "show"), re.MULTILINE)
    if links != ["lo"]:
        sys.exit(f"not in a private network namespace (links: {links}); refusing to run")
    # Every openssl answer costs a connection: widen the port range, reuse TIME_WAIT ports.
    Path("/proc/sys/net/ipv4/ip_local_port_range").write_text("1024 65535\n")
    Path("/proc/sys/net/ipv4/tcp_tw_reuse").write_text("1\n")


# --- HTTP ------------------------------------------------------------------------------------


# --- the reference: a small openssl CA -------------------------------------------------------


def sign_certificate(
    directory: Path, name: str, serial: int, extensions: str, ca: tuple[Path, Path]
) -> Path:
    key = ec_key(directory / f"{name}.key")
    csr = directory / f"{name}.csr"
    ext = directory / f"{name}.ext"
    cert = directory / f"{name}.pem"
    ext.write_text(extensions)
    openssl("req", "-new", "-key", str(key), "-subj", f"/CN=bench {name}", "-out", str(csr))
    openssl(
        "x509", "-req", "-in", str(csr), "-CA", str(ca[0]), "-CAkey", str(ca[1]),
        "-set_serial", str(serial), "-days", "30", "-extfile", str(ext), "-out", str(cert),
    )  # fmt: skip
    return cert


def make_reference_pki(directory: Path) -> tuple[Path, list[Path]]:
    """Root, OCSP signer and leaves in ``directory``, with ``index.txt``; (root, leaves)."""
    directory.mkdir()
    root_key = ec_key(directory / "root.key")
    root = directory / "root.pem"
    openssl(
        "req", "-x509", "-new", "-key", str(root_key), "-subj", "/CN=bench reference root",
        "-days", "30", "-out", str(root),
        "-addext", "basicConstraints=critical,CA:TRUE",
        "-addext", "keyUsage=critical,keyCertSign,cRLSign",
    )  # fmt: skip
    ca = (root, root_key)
    signer_extensions = f"{LEAF_EXTENSIONS}extendedKeyUsage=OCSPSigning\n"
    sign_certificate(directory, "ocsp", 0x1000, signer_extensions, ca)
    expiry = (datetime.now(UTC) + timedelta(days=30)).strftime("%y%m%d%H%M%SZ")
    revoked_at = (datetime.now(UTC) - timedelta(hours=1)).strftime("%y%m%d%H%M%SZ")
    leaves, lines = [], []
    for i in range(CERTIFICATES):
        serial = 0x2000 + i
        leaves.append(sign_certificate(directory, f"leaf{i}", serial, LEAF_EXTENSIONS, ca))
        status, revocation = ("R", f"{revoked_at},keyCompromise") if i % 2 else ("V", "")
        lines.append(f"{status}\t{expiry}\t{revocation}\t{serial:04X}\tunknown\t/CN=bench leaf{i}")
    (directory / "index.txt").write_text("\n".join(lines) + "\n")
    (directory / "index.txt.attr").write_text("unique_subject = no\n")
    return root, leaves


def start_reference(directory: Path, processes: int, log: Path) -> Server:
    command = [
        "openssl", "ocsp", "-index", str(directory / "index.txt"), "-port", str(REFERENCE_PORT),
        "-rsigner", str(directory / "ocsp.pem"), "-rkey", str(directory / "ocsp.key"),
        "-CA", str(directory / "root.pem"), "-nmin", "15", "-resp_key_id",
        "-multi", str(processes),
    ]  # fmt: skip
    return spawn(command, log)


# --- ours: kyso ------------------------------------------------------------------------------


def make_kyso_certificates(directory: Path, env: dict[str, str]) -> list[Path]:
    """Initialise kyso, issue leaves from openssl CSRs, revoke the odd ones; the leaf paths."""
    directory.mkdir()
    run(KYSO, "init", env=env)
    leaves = []
    for i in range(CERTIFICATES):
        key = ec_key(directory / f"leaf{i}.key")
        csr = directory / f"leaf{i}.csr"
        cert = directory / f"leaf{i}.pem"
        openssl("req", "-new", "-key", str(key), "-subj", "/CN=ignored", "-out", str(csr))
        run(
            KYSO, "admin", "issue-cert", "--csr", str(csr), "--full-name", f"Nguyen Van An {i}",
            "--cccd", f"0012030123{i:02d}", "--out", str(cert), env=env,
        )  # fmt: skip
        if i % 2:
            serial = openssl("x509", "-in", str(cert), "-noout", "-serial").split("=")[1].strip()
            run(KYSO, "admin", "revoke", "--serial", serial, "--reason", "keyCompromise", env=env)
        leaves.append(cert)
    return leaves


def start_kyso(env: dict[str, str], processes: int, log: Path) -> Server:
    return spawn(
        [KYSO, "serve", "--host", HOST, "--port", str(KYSO_PORT), "--workers", str(processes)],
        log,
        env,
    )


# --- requests and their verification --------------------------------------------------------


def make_requests(directory: Path, issuer: Path, leaves: list[Path], nonce: bool) -> list[Path]:
    paths = []
    for i, leaf in enumerate(leaves):
        path = directory / f"request{i}{'-nonce' if nonce else ''}.der"
        openssl(
            "ocsp", "-issuer", str(issuer), "-cert", str(leaf),
            "-nonce" if nonce else "-no_nonce", "-reqout", str(path),
        )  # fmt: skip
        paths.append(path)
    return paths


def make_sides(
    name: str,
    url: str,
    material: tuple[Path, Path, list[Path]],
    anchors: tuple[Path, Path | None],
    nonces: tuple[bool, ...],
) -> dict[bool, Side]:
    """One side per request kind; ``material``: (requests' folder, issuer, leaves), ``anchors``:
    (root, intermediates) that verify its answers."""
    directory, issuer, leaves = material
    return {
        nonce: Side(
            name=name,
            url=url,
            requests=make_requests(directory, issuer, leaves, nonce),
            expected=["revoked" if i % 2 else "good" for i in range(CERTIFICATES)],
            root=anchors[0],
            intermediates=anchors[1],
        )
        for nonce in nonces
    }


def nonce_of(extensions: Iterable[Any] | None) -> bytes | None:
    """The nonce among asn1crypto OCSP request or response extensions, if any."""
    for extension in extensions or []:
        if extension["extn_id"].native == "nonce":
            return bytes(extension["extn_value"].contents)
    return None


def check_side(side: Side, work: Path) -> None:
    """Each request answered successful, with the expected status, nonce and a valid signature."""
    for i, (request, expected) in enumerate(zip(side.requests, side.expected, strict=True)):
        der = fetch("POST", side.url, request.read_bytes(), OCSP_REQUEST)
        answer = asn1_ocsp.OCSPResponse.load(der)
        status = answer["response_status"].native
        if status != "successful":
            sys.exit(f"{side.name}: request {i} answered {status}")
        data = answer.basic_ocsp_response["tbs_response_data"]
        got = data["responses"][0]["cert_status"].name
        if got != expected:
            sys.exit(f"{side.name}: request {i} answered {got}, expected {expected}")
        asked = nonce_of(
            asn1_ocsp.OCSPRequest.load(request.read_bytes())["tbs_request"]["request_extensions"]
        )
        if asked is not None and nonce_of(data["response_extensions"]) != asked:
            sys.exit(f"{side.name}: request {i}: the nonce was not echoed")
        response = work / f"{side.name}-response{i}.der"
        response.write_bytes(der)
        chain = ["-verify_other", str(side.intermediates)] if side.intermediates else []
        result = subprocess.run(
            ["openssl", "ocsp", "-respin", str(response), "-reqin", str(request),
             "-CAfile", str(side.root), *chain, "-resp_text"],
            capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip
        if "Response verify OK" not in result.stderr or f"Cert Status: {expected}" not in (
            result.stdout
        ):
            sys.exit(f"{side.name}: openssl does not accept answer {i}:\n{result.stderr}")


# --- the client ------------------------------------------------------------------------------


def wrk(script: Path, side: Side, options: Options, seconds: int) -> WrkResult:
    output = run(
        "wrk", "-t", str(options.threads), "-c", str(options.connections), "-d", f"{seconds}s",
        "--timeout", "5s", "-s", str(script), side.url, "--", *map(str, side.requests),
        timeout=seconds + 60,
    )  # fmt: skip
    line = next((x for x in output.splitlines() if x.startswith("WRK_RESULT ")), None)
    if line is None:
        sys.exit(f"wrk printed no result:\n{output}")
    n = [int(x) for x in line.split()[1:]]
    return WrkResult(
        requests=n[0],
        seconds=n[1] / 1e6,
        bad=n[2],
        socket_errors=dict(
            zip(("connect", "read", "write", "status", "timeout"), n[3:8], strict=True)
        ),
        p50_ms=n[8] / 1000,
        p99_ms=n[9] / 1000,
    )


def kyso_log_counts(log: Path) -> dict[str, int]:
    """HTTP statuses of ``POST /pki/ocsp`` in uvicorn's access log, and the errors logged.

    wrk stops with requests in flight; kyso logs each of those as an unhandled
    ``ClientDisconnect`` (twice: its own handler and uvicorn), counted apart from other errors.
    """
    text = log.read_text(errors="replace")
    counts: dict[str, int] = {}
    for status in re.findall(r'"POST /pki/ocsp HTTP/1\.1" (\d{3})', text):
        counts[status] = counts.get(status, 0) + 1
    disconnects = text.count("starlette.requests.ClientDisconnect")
    counts["client_disconnect_tracebacks"] = disconnects
    counts["other_tracebacks"] = text.count("Traceback") - disconnects
    counts["ocsp_internal_errors"] = text.count("OCSP responder failure")
    return counts


# --- the benchmark ---------------------------------------------------------------------------


Measured = dict[bool, WrkResult]
"""wrk's result for each request kind: with a nonce (True), without (False)."""


def measure_kinds(
    script: Path, sides: dict[bool, Side], options: Options, *, warm: bool
) -> Measured:
    """Each kind of request in turn against one running server (checked first)."""
    results = {}
    for nonce, side in sides.items():
        if warm:
            wrk(script, side, options, options.warmup)
        results[nonce] = wrk(script, side, options, options.duration)
    return results


def measure_kyso(
    work: Path, options: Options, script: Path
) -> tuple[Measured, dict[str, int], list[Path]]:
    env = kyso_env(work / "kyso-data", KYSO_PORT)
    leaves = make_kyso_certificates(work / "kyso-certs", env)
    log = work / "kyso.log"
    server = start_kyso(env, options.processes, log)
    try:
        base = f"http://{HOST}:{KYSO_PORT}"
        wait_until(lambda: bool(fetch("GET", f"{base}/healthz")), server)
        root = der_to_pem(fetch("GET", f"{base}/pki/ca/root.crt"), work / "kyso-root.pem")
        issuing = der_to_pem(fetch("GET", f"{base}/pki/ca/issuing.crt"), work / "kyso-issuing.pem")
        requests_dir = work / "kyso-requests"
        requests_dir.mkdir()
        sides = make_sides("kyso", f"{base}/pki/ocsp", (requests_dir, issuing, leaves),
                           (root, issuing), options.nonces)  # fmt: skip
        for side in sides.values():
            check_side(side, work)
        results = measure_kinds(script, sides, options, warm=True)
    finally:
        stop(server)
    return results, kyso_log_counts(log), next(iter(sides.values())).requests


def measure_ceiling(work: Path, options: Options, script: Path, requests: list[Path]) -> WrkResult:
    """The engine serving an app that answers fixed bytes, as ``kyso serve`` runs it: what
    no Python responder on this server can exceed."""
    answer = {"KYSO_BENCH_ANSWER_BYTES": "471",  # about the size of kyso's signed answer
              "KYSO_BENCH_ANSWER_TYPE": "application/ocsp-response"}  # fmt: skip
    server = spawn_answering_app(CEILING_PORT, work / "ceiling.log", workers=options.processes,
                                 answer=answer)  # fmt: skip
    side = Side("ceiling", f"http://{HOST}:{CEILING_PORT}/pki/ocsp", requests, [], Path(), None)
    try:
        wait_until(lambda: bool(fetch("POST", side.url, b"x", OCSP_REQUEST)), server)
        wrk(script, side, options, options.warmup)
        return wrk(script, side, options, options.duration)
    finally:
        stop(server)


def wait_for_reference(server: Server, side: Side) -> None:
    """Readiness by a real request: a bare TCP probe would hang openssl 3.0's responder."""
    probe = side.requests[0].read_bytes()
    wait_until(lambda: bool(fetch("POST", side.url, probe, OCSP_REQUEST)), server)


def measure_reference(work: Path, options: Options, script: Path) -> Measured:
    pki = work / "reference-pki"
    root, leaves = make_reference_pki(pki)
    requests_dir = work / "reference-requests"
    requests_dir.mkdir()
    sides = make_sides("openssl", f"http://{HOST}:{REFERENCE_PORT}/",
                       (requests_dir, root, leaves), (root, None), options.nonces)  # fmt: skip
    first = next(iter(sides.values()))
    server = start_reference(pki, options.processes, work / "openssl-check.log")
    try:
        wait_for_reference(server, first)
        for side in sides.values():
            check_side(side, work)
    finally:
        stop(server)
    results = {}
    for nonce, side in sides.items():  # a fresh responder per kind (see the module's notes)
        server = start_reference(pki, options.processes, work / f"openssl-{nonce}.log")
        try:
            wait_for_reference(server, side)
            results[nonce] = wrk(script, side, options, options.duration)
        finally:
            stop(server)
    return results


def parse_options(argv: list[str]) -> Options:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="3 s per side instead of 10 s")
    parser.add_argument("--json", action="store_true", help="print one JSON line")
    parser.add_argument("--duration", type=int, help="seconds measured per side")
    parser.add_argument("--connections", type=int, default=16, help="wrk connections")
    parser.add_argument("--threads", type=int, default=1, help="wrk threads")
    parser.add_argument("--processes", type=int, default=1, help="worker processes per server")
    parser.add_argument("--no-nonce", action="store_true",
                        help="only requests without a nonce (P5c); default: both")  # fmt: skip
    parser.add_argument("--keep", action="store_true", help="keep the work directory and logs")
    add_server_choices(parser)
    args = parser.parse_args(argv)
    apply_server_choices(args)
    duration = args.duration or (3 if args.quick else 10)
    return Options(
        duration=duration,
        warmup=1 if args.quick else 2,
        connections=args.connections,
        threads=min(args.threads, args.connections),
        processes=args.processes,
        nonces=(False,) if args.no_nonce else (True, False),
        as_json=args.json,
        keep=args.keep,
    )


def _per_s_ratio(ours: WrkResult, reference: WrkResult) -> float:
    return ours.per_second / reference.per_second if reference.per_second else float("inf")


def figures_of(
    options: Options, ours: Measured, reference: Measured, ceiling: WrkResult, log: dict[str, int]
) -> list[dict[str, Any]]:
    """P5n (every request with a nonce) and P5c (none: RFC 5019 pre-produced answers), and P5:
    the nonce figure, named as older scripts read it (the no-nonce one with ``--no-nonce``)."""
    engine = select_engine(None)
    common = {
        "connections": options.connections,
        "client_threads": options.threads,
        "duration_s": options.duration,
        "ours_processes": options.processes,
        "reference_processes": options.processes,
        "certificates": CERTIFICATES,
        "client": "wrk",
        "reference": "openssl ocsp -multi",
        "engine": engine,
        "cpus": os.cpu_count(),
        "ceiling_per_s": round(ceiling.per_second, 1),
        "ceiling": f"{engine} answering fixed bytes",
        "ours_log": log,
    }
    figures = []
    for nonce in options.nonces:
        mine, theirs = ours[nonce], reference[nonce]
        figure: dict[str, Any] = {
            "metric": "P5n" if nonce else "P5c",
            "ratio": round(_per_s_ratio(mine, theirs), 2),
            "nonce": nonce,
            "ours_per_s": round(mine.per_second, 1),
            "reference_per_s": round(theirs.per_second, 1),
            "ours_p50_ms": mine.p50_ms,
            "ours_p99_ms": mine.p99_ms,
            "reference_p50_ms": theirs.p50_ms,
            "reference_p99_ms": theirs.p99_ms,
            "ours_bad": mine.bad,
            "reference_bad": theirs.bad,
            "ours_socket_errors": sum(mine.socket_errors.values()),
            "reference_socket_errors": sum(theirs.socket_errors.values()),
            "ceiling_ratio": round(_per_s_ratio(ceiling, theirs), 2),
            "of_ceiling": round(mine.per_second / ceiling.per_second, 2)
            if ceiling.per_second
            else 0.0,
            **common,
        }
        figures.append(figure)
    legacy = next(f for f in figures if f["nonce"] == options.nonces[0])
    figures.append({**legacy, "metric": "P5", "same_as": legacy["metric"]})
    return figures


def report(figures: list[dict[str, Any]], options: Options) -> None:
    if options.as_json:
        for figure in figures:
            print(json.dumps(figure))
        return
    first = figures[0]
    print("P5 OCSP responses per second (POST over 127.0.0.1, private network namespace)")
    print(
        f"  client: wrk, {options.threads} thread(s), {options.connections} connections, "
        f"{options.duration} s per side; {CERTIFICATES} certificates (half revoked); "
        f"kyso serve --engine {first['engine']} --workers {options.processes}, "
        f"openssl ocsp -multi {options.processes}; {os.cpu_count()} CPUs"
    )
    for figure in figures:
        if figure["metric"] == "P5":
            continue
        kind = "with a nonce" if figure["nonce"] else "without a nonce (pre-produced)"
        print(
            f"  {figure['metric']} {kind}: ours {figure['ours_per_s']:.1f}/s "
            f"(p50 {figure['ours_p50_ms']:.2f} ms, p99 {figure['ours_p99_ms']:.2f} ms, bad "
            f"{figure['ours_bad']}), openssl {figure['reference_per_s']:.1f}/s "
            f"(bad {figure['reference_bad']}): ratio {figure['ratio']:.2f}, "
            f"{figure['of_ceiling']:.2f} of the ceiling"
        )
    print(
        f"  {first['ceiling']} (the ceiling): {first['ceiling_per_s']:.1f}/s: no Python "
        "responder served by this engine as an ASGI app can do more"
    )
    print(f"  kyso log: {first['ours_log']}")


def main(argv: list[str]) -> None:
    options = parse_options(argv)
    for tool in ("openssl", "wrk", "ip"):
        if shutil.which(tool) is None:
            sys.exit(f"{tool} is needed")
    enter_private_netns(argv)
    prepare_netns()
    work = Path(tempfile.mkdtemp(prefix="kyso-bench-ocsp-"))
    try:
        script = work / "ocsp.lua"
        script.write_text(WRK_SCRIPT)
        ours, log, requests = measure_kyso(work, options, script)
        ceiling = measure_ceiling(work, options, script, requests)
        reference = measure_reference(work, options, script)
        report(figures_of(options, ours, reference, ceiling, log), options)
    finally:
        if options.keep:
            sys.stdout.flush()
            print(f"work directory kept: {work}", file=sys.stderr)
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main(sys.argv[1:])
