"""PDF signing: kyso's ``POST /v1/signatures`` against stock pyHanko in-process (goals below).

Measured, ours beside the reference in the same run, on the same documents:

1. Signatures per second of a one-page PDF (made with reportlab) at PAdES B-B, B-T and B-LT,
   invisible signature.

   * ours: ``kyso serve --workers N`` (one worker per core unless ``--workers``; SQLite, its
     CA made at first start) on 127.0.0.1, driven by ``--clients`` threads, each with its own
     keep-alive ``httpx`` client, signing as one proofed citizen whose key the service keeps:
     every request unlocks the key with its PIN (argon2id), signs, time-stamps and gathers
     OCSP/CRL in-process as the level needs, records and meters the signature and sends the
     signed PDF back;
   * the reference: ``pyhanko.sign.signers.sign_pdf`` called back to back in one thread of
     this process, with a ``SimpleSigner`` loaded once from an ECDSA P-256 key made by openssl
     and certified by the same kyso CA (``kyso admin issue-cert --csr``, so the certificate
     carries our OCSP and CRL URLs). Its B-T time-stamps come from pyHanko's stock
     ``HTTPTimeStamper`` pointed at kyso's ``/pki/tsa``; its B-LT revocation data is fetched
     by pyHanko over HTTP from kyso's OCSP responder and CRL endpoints, with a fresh
     ``ValidationContext`` per signature (as a fresh signing job has nothing cached).

   Goal: ours >= 2x the reference at B-T.

2. Latency of one B-T signature: the median of sequential requests from one client, the PIN
   unlock included, against the median of sequential in-process B-T ``sign_pdf`` calls.

3. A 10 MB and a 100 MB PDF (one page drawing an uncompressed image of random pixels, so
   nothing compresses), signed at B-B, invisible:

   * ours: the PDF sent as the body of ``POST /v1/signatures/pdf`` (the API's form for large
     documents; the multipart form of ``POST /v1/signatures`` is measured too, as context):
     time from the start of the upload to the last byte of the answer, and the peak RSS
     growth of the server's process group over its RSS just before the request: the larger
     of the kernel's high-water mark (VmHWM, reset through ``/proc/PID/clear_refs`` just
     before; it misses memory a thread's malloc arena returns by ``madvise``) and the RSS
     sampled every 10 ms (which misses shorter peaks); each run on a freshly started server
     warmed up by one small signature;
   * the reference: ``sign_pdf`` from file to file in a child process (so that its memory is
     its own), the time of the call and the peak RSS growth over the RSS just before it,
     after a small warm-up signature in the same child. The output file is opened ``wb``, as
     in pyHanko's examples; pyHanko then renders the signed PDF into a ``BytesIO`` (it needs
     a readable output to hash in place), as it does when given no output at all.

   Each figure is the median of three runs per side (one with ``--quick``).

   Goal: memory growth <= 1x the file size. RSS growth counts what a process had to take
   from the system: memory it had already freed and malloc kept (in kyso, argon2id's 19 MiB
   working area from the PIN check) is reused without growth, which hides small documents.

Every output is checked once per level and side: a PDF that pyHanko finds intact, valid and
trusted (our root), with a trusted time-stamp from B-T on and, at B-LT, validating offline
from its DSS alone with revocation checking on hard-fail.

Usage: ``python bench/sign.py [--quick] [--json]`` (``--quick``: 3 s per level, 10 MB only).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
from _common import (
    HOST,
    Server,
    SpreadSampler,
    add_server_choices,
    apply_server_choices,
    free_port,
    kyso_env,
    run,
    select_engine,
    spawn,
    spawn_answering_app,
    stop,
    wait_until,
)
from asn1crypto import pem
from asn1crypto import x509 as asn1_x509
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign import signers
from pyhanko.sign.fields import SigSeedSubFilter
from pyhanko.sign.timestamps import HTTPTimeStamper
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko.sign.validation.dss import DocumentSecurityStore
from pyhanko_certvalidator import ValidationContext
from reportlab.pdfgen import canvas

KYSO = str(Path(sys.executable).with_name("kyso"))
LEVELS = ("B-B", "B-T", "B-LT")
PIN = "402917"
PASSWORD = "một mật khẩu dài 2026"  # noqa: S105 - a throw-away account in a temp dir
CITIZEN_CCCD = "001190012345"
"""A woman born in 1990 (century-and-gender digit 1, year 90)."""
MAX_REQUESTS = 100_000
"""Upper bound on the requests or signatures of any one loop, whatever its duration."""
REQUEST_TIMEOUT = 300.0
SAMPLE_INTERVAL = 0.01
MIB = 1024 * 1024
BATCH = 100
"""Signatures per batch authorisation (the API's most)."""


@dataclass(frozen=True)
class Options:
    duration: float
    warmup: float
    clients: int
    workers: int
    latency_samples: int
    sizes_mb: tuple[int, ...]
    repeats: int
    as_json: bool
    keep: bool


@dataclass(frozen=True)
class Rate:
    count: int
    seconds: float
    failures: dict[str, int] = field(default_factory=dict)
    spread: list[int] = field(default_factory=list)
    """The clients' connections per server process, sampled halfway (``SpreadSampler``)."""

    @property
    def per_second(self) -> float:
        return self.count / self.seconds if self.seconds else 0.0


@dataclass(frozen=True)
class BigResult:
    seconds: float
    growth_bytes: int
    method: str


@dataclass(frozen=True)
class Figure:
    metric: str
    ours: float
    reference: float
    unit: str
    better: str
    """``higher`` or ``lower``: which way the ratio ours/reference should go."""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def ratio(self) -> float:
        return self.ours / self.reference if self.reference else float("inf")


# --- processes -------------------------------------------------------------------------------


# --- memory ----------------------------------------------------------------------------------


def _status_kib(pid: int, key: str) -> int:
    """``VmRSS`` or ``VmHWM`` of a process in KiB; 0 once it is gone."""
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0
    for line in text.splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    return 0


def group_pids(pgid: int) -> list[int]:
    """The processes of a process group (a server and its workers)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # pid (comm) state ppid pgrp ...: comm may hold spaces and parentheses.
        if int(stat.rsplit(")", 1)[1].split()[2]) == pgid:
            pids.append(int(entry.name))
    return pids


def reset_peaks(pids: list[int]) -> bool:
    """Reset the kernel's peak-RSS mark (VmHWM) of each process; whether that was allowed."""
    try:
        for pid in pids:
            Path(f"/proc/{pid}/clear_refs").write_text("5\n")
    except OSError:
        return False
    return True


class PeakSampler:
    """Sums the RSS of a process group every 10 ms in a thread; the largest sum seen."""

    def __init__(self, pgid: int) -> None:
        self.pgid = pgid
        self.peak_kib = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        pids = group_pids(self.pgid)
        while not self._stop.is_set():
            self.peak_kib = max(self.peak_kib, sum(_status_kib(p, "VmRSS") for p in pids))
            self._stop.wait(SAMPLE_INTERVAL)

    def __enter__(self) -> PeakSampler:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)


# --- documents -------------------------------------------------------------------------------


def one_page_pdf() -> bytes:
    buffer = io.BytesIO()
    pdf = canvas.Canvas(buffer, pagesize=(595, 842), invariant=1)
    pdf.setFont("Helvetica", 14)
    pdf.drawString(72, 770, "Don de nghi cap giay phep kinh doanh - bench document")
    for line in range(40):
        pdf.drawString(72, 740 - 16 * line, f"Dieu {line + 1}. Noi dung hop dong, dong {line + 1}.")
    pdf.showPage()
    pdf.save()
    return buffer.getvalue()


def write_random_image_pdf(path: Path, size: int) -> None:
    """A valid one-page PDF of about ``size`` bytes: an unfiltered image of random pixels."""
    width = 2048
    height = max(1, size // (width * 3))
    length = width * height * 3
    content = b"q 595 0 0 842 0 0 cm /Im0 Do Q"
    rng = random.Random(size)
    offsets: list[int] = []
    with path.open("wb") as out:
        out.write(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")

        def obj(body: bytes) -> None:
            offsets.append(out.tell())
            out.write(b"%d 0 obj\n" % (len(offsets)) + body + b"\nendobj\n")

        obj(b"<< /Type /Catalog /Pages 2 0 R >>")
        obj(b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>")
        obj(b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] "
            b"/Resources << /XObject << /Im0 5 0 R >> >> /Contents 4 0 R >>")  # fmt: skip
        obj(b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream")
        offsets.append(out.tell())
        out.write(
            b"5 0 obj\n<< /Type /XObject /Subtype /Image /Width %d /Height %d "
            b"/ColorSpace /DeviceRGB /BitsPerComponent 8 /Length %d >>\nstream\n"
            % (width, height, length)
        )
        left = length
        while left:
            chunk = min(left, 4 * MIB)
            out.write(rng.randbytes(chunk))
            left -= chunk
        out.write(b"\nendstream\nendobj\n")
        xref = out.tell()
        out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(offsets) + 1))
        for offset in offsets:
            out.write(b"%010d 00000 n \n" % offset)
        out.write(
            b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n"
            % (len(offsets) + 1, xref)
        )
    if shutil.which("qpdf"):
        result = subprocess.run(["qpdf", "--check", str(path)], capture_output=True, text=True,
                                timeout=300, check=False)  # fmt: skip
        if result.returncode != 0:
            sys.exit(f"qpdf --check rejects the generated {path.name}:\n{result.stdout[-2000:]}")


# --- kyso: server, accounts, certificates ----------------------------------------------------


@dataclass
class Kyso:
    env: dict[str, str]
    port: int
    workers: int
    log: Path
    server: Server | None = None

    @property
    def base(self) -> str:
        return f"http://{HOST}:{self.port}"

    def start(self) -> Server:
        self.server = spawn(
            [KYSO, "serve", "--host", HOST, "--port", str(self.port),
             "--workers", str(self.workers)],
            self.log, self.env,
        )  # fmt: skip
        server = self.server
        wait_until(
            lambda: httpx.get(f"{self.base}/healthz", timeout=2).status_code == 200,
            server,
            transient=(httpx.HTTPError, OSError),
        )
        return server

    def stop(self) -> None:
        if self.server is not None:
            stop(self.server)
            self.server = None

    def cli(self, *args: str) -> str:
        return run(KYSO, *args, env=self.env)


@dataclass(frozen=True)
class Citizen:
    email: str
    credential_id: str


def _check(response: httpx.Response, status: int, what: str) -> dict[str, Any]:
    if response.status_code != status:
        sys.exit(f"{what}: HTTP {response.status_code}: {response.text[:500]}")
    body: dict[str, Any] = response.json()
    return body


def login(base: str, email: str) -> str:
    """An access token for the account (they live ten minutes: each phase logs in anew)."""
    form = {"grant_type": "password", "username": email, "password": PASSWORD}
    answer = _check(httpx.post(f"{base}/v1/auth/token", data=form, timeout=30), 200, "login")
    token: str = answer["access_token"]
    return token


def make_citizen(kyso: Kyso, cccd: str = CITIZEN_CCCD) -> Citizen:
    """A registered, proofed citizen with a signing credential under ``PIN``."""
    officer = f"officer-{uuid.uuid4().hex[:8]}@kyso.test"
    kyso.cli("admin", "create-user", "--email", officer, "--password", PASSWORD,
             "--role", "registration_officer")  # fmt: skip
    email = f"citizen-{uuid.uuid4().hex[:8]}@example.vn"
    registration = {
        "full_name": "Nguyễn Thị Mai",
        "cccd": cccd,
        "date_of_birth": "1990-05-17",
        "gender": "female",
        "email": email,
        "phone": "0912 345 678",
        "password": PASSWORD,
    }
    created = _check(httpx.post(f"{kyso.base}/v1/auth/register", json=registration, timeout=30),
                     201, "register")  # fmt: skip
    officer_headers = {"Authorization": f"Bearer {login(kyso.base, officer)}"}
    _check(
        httpx.post(f"{kyso.base}/v1/proofing/{created['id']}", headers=officer_headers,
                   json={"document": "CCCD card", "method": "in_person"}, timeout=30),
        200, "proofing",
    )  # fmt: skip
    citizen_headers = {"Authorization": f"Bearer {login(kyso.base, email)}"}
    issued = _check(
        httpx.post(f"{kyso.base}/v1/me/certificate", headers=citizen_headers,
                   json={"pin": PIN}, timeout=60),
        201, "certificate",
    )  # fmt: skip
    # Every signature is charged: a wallet for a few hundred thousand of them.
    kyso.cli("billing", "top-up", "--email", email, "--amount", "1000000000",
             "--reference", f"bench-{uuid.uuid4().hex}")  # fmt: skip
    return Citizen(email=email, credential_id=issued["credential_id"])


@dataclass(frozen=True)
class StockMaterial:
    """The reference's key and certificate (issued by kyso's CA) and the CA certificates."""

    key: Path
    cert: Path
    issuing: Path
    root: Path


def _pem(der: bytes, path: Path) -> Path:
    path.write_bytes(pem.armor("CERTIFICATE", der))
    return path


def make_stock_material(kyso: Kyso, directory: Path) -> StockMaterial:
    directory.mkdir()
    key, csr, cert = directory / "signer.key", directory / "signer.csr", directory / "signer.pem"
    run("openssl", "req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
        "-nodes", "-keyout", str(key), "-subj", "/CN=ignored", "-out", str(csr))  # fmt: skip
    kyso.cli("admin", "issue-cert", "--csr", str(csr), "--full-name", "Nguyễn Văn An",
             "--cccd", "001203012345", "--out", str(cert))  # fmt: skip
    issuing = httpx.get(f"{kyso.base}/pki/ca/issuing.crt", timeout=10)
    root = httpx.get(f"{kyso.base}/pki/ca/root.crt", timeout=10)
    return StockMaterial(key=key, cert=cert, issuing=_pem(issuing.content, directory / "ca.pem"),
                         root=_pem(root.content, directory / "root.pem"))  # fmt: skip


def load_certificate(path: Path) -> asn1_x509.Certificate:
    _, _, der = pem.unarmor(path.read_bytes())
    return asn1_x509.Certificate.load(der)


# --- ours: POST /v1/signatures ---------------------------------------------------------------


def api_client(base: str, token: str) -> httpx.Client:
    return httpx.Client(base_url=base, timeout=REQUEST_TIMEOUT,
                        headers={"Authorization": f"Bearer {token}"})  # fmt: skip


def api_sign(
    client: httpx.Client, document: Any, level: str, sad: str | None = None
) -> httpx.Response:
    """One signature; ``document`` is bytes or an open file (streamed). With ``sad``, one use
    of a batch authorisation instead of the PIN."""
    unlock = {"sad": sad} if sad else {"pin": PIN}
    return client.post(
        "/v1/signatures",
        files={"file": ("hop-dong.pdf", document, "application/pdf")},
        data={**unlock, "level": level, "invisible": "true"},
        headers={"Idempotency-Key": uuid.uuid4().hex},
    )


def api_authorise(client: httpx.Client, credential_id: str, count: int) -> str:
    """A batch authorisation (PIN once) for ``count`` documents."""
    wanted = {"credential_id": credential_id, "pin": PIN, "count": count}
    answer = client.post("/v1/me/authorisations", json=wanted)
    sad: str = _check(answer, 201, "authorisation")["sad"]
    return sad


def _signed_ok(response: httpx.Response) -> bool:
    return (
        response.status_code == 200
        and response.headers.get("content-type", "").startswith("application/pdf")
        and response.content.startswith(b"%PDF-")
    )


def _failure(response: httpx.Response) -> str:
    code = ""
    with contextlib.suppress(ValueError):
        code = str(response.json().get("code", ""))
    return f"{response.status_code} {code}".strip()


def api_rate(
    base: str, token: str, pdf: bytes, level: str, clients: int, seconds: float,
    *, batch: int = 0, credential_id: str = "", signers: Sequence[tuple[str, str]] = (),
) -> Rate:  # fmt: skip
    """``clients`` threads signing back to back until the deadline; completed per second.
    With ``batch``, each thread authorises ``batch`` signatures at a time (the PIN once per
    batch, its cost counted) and spends them one request each. With ``signers`` (access
    token, credential id), thread ``i`` signs as ``signers[i % len(signers)]``."""
    counts = [0] * clients
    failures: list[Counter[str]] = [Counter() for _ in range(clients)]
    start = time.monotonic()
    deadline = start + seconds

    def client_loop(index: int) -> None:
        sad, left = None, 0
        own_token, own_credential = signers[index % len(signers)] if signers else (
            token, credential_id)  # fmt: skip
        with api_client(base, own_token) as client:
            while time.monotonic() < deadline and counts[index] < MAX_REQUESTS:
                try:
                    if batch and left == 0:
                        sad, left = api_authorise(client, own_credential, batch), batch
                    left -= 1 if batch else 0
                    response = api_sign(client, pdf, level, sad)
                except httpx.HTTPError as exc:
                    failures[index][type(exc).__name__] += 1
                    continue
                if _signed_ok(response):
                    counts[index] += 1
                else:
                    failures[index][_failure(response)] += 1

    threads = [threading.Thread(target=client_loop, args=(n,)) for n in range(clients)]
    with SpreadSampler(urlsplit(base).port or 80, seconds / 2) as sampler:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    return Rate(
        sum(counts), time.monotonic() - start, dict(sum(failures, Counter())), sampler.spread
    )


def api_latencies(base: str, token: str, pdf: bytes, level: str, samples: int) -> list[float]:
    """Seconds of each of ``samples`` sequential requests (keep-alive, one client)."""
    times = []
    with api_client(base, token) as client:
        for _ in range(samples):
            start = time.perf_counter()
            response = api_sign(client, pdf, level)
            elapsed = time.perf_counter() - start
            if not _signed_ok(response):
                sys.exit(f"ours, {level}: {response.status_code} {response.text[:300]}")
            times.append(elapsed)
    return times


# --- the reference: stock pyHanko ------------------------------------------------------------


@dataclass
class Stock:
    """pyHanko as its documentation shows it: a SimpleSigner, sign_pdf, HTTPTimeStamper."""

    material: StockMaterial
    tsa_url: str
    signer: signers.SimpleSigner = field(init=False)
    timestamper: HTTPTimeStamper = field(init=False)

    def __post_init__(self) -> None:
        m = self.material
        loaded = signers.SimpleSigner.load(
            str(m.key), str(m.cert), ca_chain_files=(str(m.issuing), str(m.root))
        )
        if loaded is None:
            sys.exit("pyHanko could not load the reference key and certificate")
        self.signer = loaded
        self.timestamper = HTTPTimeStamper(self.tsa_url)

    def metadata(self, level: str) -> signers.PdfSignatureMetadata:
        long_term = level == "B-LT"
        context = None
        if long_term:
            context = ValidationContext(
                trust_roots=[load_certificate(self.material.root)],
                other_certs=[load_certificate(self.material.issuing)],
                allow_fetching=True,
            )
        return signers.PdfSignatureMetadata(
            field_name="Signature1",
            md_algorithm="sha256",
            subfilter=SigSeedSubFilter.PADES,
            embed_validation_info=long_term,
            validation_context=context,
        )

    def sign(self, source: Any, output: Any, level: str) -> None:
        signers.sign_pdf(
            IncrementalPdfFileWriter(source, strict=False),
            self.metadata(level),
            self.signer,
            timestamper=self.timestamper if level != "B-B" else None,
            output=output,
        )

    def sign_bytes(self, pdf: bytes, level: str) -> bytes:
        out = io.BytesIO()
        self.sign(io.BytesIO(pdf), out, level)
        return out.getvalue()


def stock_rate(stock: Stock, pdf: bytes, level: str, seconds: float) -> Rate:
    count, failures = 0, Counter[str]()
    start = time.monotonic()
    while time.monotonic() < start + seconds and count + failures.total() < MAX_REQUESTS:
        try:
            stock.sign_bytes(pdf, level)
            count += 1
        except Exception as exc:  # counted and reported; the loop goes on
            failures[type(exc).__name__] += 1
    return Rate(count, time.monotonic() - start, dict(failures))


def stock_latencies(stock: Stock, pdf: bytes, level: str, samples: int) -> list[float]:
    times = []
    for _ in range(samples):
        start = time.perf_counter()
        stock.sign_bytes(pdf, level)
        times.append(time.perf_counter() - start)
    return times


def stock_child(args: list[str]) -> None:
    """In a child process: warm up, then sign one big file to another; print time and memory."""
    source, target, small, key, cert, issuing, root = (Path(a) for a in args)
    stock = Stock(StockMaterial(key=key, cert=cert, issuing=issuing, root=root), tsa_url="")
    stock.sign_bytes(small.read_bytes(), "B-B")
    pid = os.getpid()
    hwm_reset = reset_peaks([pid])
    baseline = _status_kib(pid, "VmRSS")
    start = time.perf_counter()
    with source.open("rb") as inp, target.open("wb") as out:
        stock.sign(inp, out, "B-B")
    seconds = time.perf_counter() - start
    peak = _status_kib(pid, "VmHWM")
    print(json.dumps({"seconds": seconds, "baseline_kib": baseline, "peak_kib": peak,
                      "hwm_reset": hwm_reset}))  # fmt: skip


def stock_big(material: StockMaterial, source: Path, target: Path, small: Path) -> BigResult:
    output = run(
        sys.executable, str(Path(__file__).resolve()), "--stock-child", str(source), str(target),
        str(small), str(material.key), str(material.cert), str(material.issuing),
        str(material.root), timeout=900,
    )  # fmt: skip
    found = json.loads(output.strip().splitlines()[-1])
    check_big_output(target, source)
    method = "VmHWM" if found["hwm_reset"] else "VmHWM (not reset)"
    growth = (found["peak_kib"] - found["baseline_kib"]) * 1024
    return BigResult(found["seconds"], growth, method)


# --- checks ----------------------------------------------------------------------------------


def check_signed(name: str, data: bytes, level: str, material: StockMaterial) -> None:
    """Exit unless the last signature is intact, valid and trusted, as ``level`` requires."""
    root, issuing = load_certificate(material.root), load_certificate(material.issuing)
    reader = PdfFileReader(io.BytesIO(data))
    signature = reader.embedded_regular_signatures[-1]
    context = ValidationContext(trust_roots=[root], other_certs=[issuing], allow_fetching=False)
    status = validate_pdf_signature(signature, context)
    problems = []
    if not (status.intact and status.valid and status.trusted):
        problems.append(f"intact {status.intact} valid {status.valid} trusted {status.trusted}")
    timestamp = status.timestamp_validity
    if level != "B-B" and not (timestamp and timestamp.valid and timestamp.trusted):
        problems.append("no trusted signature time-stamp")
    if level == "B-LT":
        if "/DSS" not in reader.root:
            problems.append("no DSS")
        else:
            offline = DocumentSecurityStore.read_dss(reader).as_validation_context(
                {"trust_roots": [root], "allow_fetching": False, "revocation_mode": "hard-fail"}
            )
            if not validate_pdf_signature(signature, offline).bottom_line:
                problems.append("does not validate from its DSS alone (hard-fail)")
    if problems:
        sys.exit(f"{name}, {level}: the signed PDF is wrong: {'; '.join(problems)}")


def check_big_output(path: Path, source: Path) -> None:
    size = path.stat().st_size
    with path.open("rb") as signed:
        head = signed.read(8)
        signed.seek(max(0, size - 64))
        tail = signed.read()
    if not head.startswith(b"%PDF-") or b"%%EOF" not in tail or size <= source.stat().st_size:
        sys.exit(f"{path.name}: not a signed PDF ({size} bytes)")


# --- the large documents ---------------------------------------------------------------------


def _post_big(client: httpx.Client, source: Path, document: Any, upload: str) -> Any:
    """The streamed request: the PDF as the body of ``POST /v1/signatures/pdf``, or as the
    multipart form of ``POST /v1/signatures``."""
    key = uuid.uuid4().hex
    if upload == "body":
        return client.stream(
            "POST", "/v1/signatures/pdf", content=document,
            params={"level": "B-B", "invisible": "true", "filename": source.name},
            headers={"Content-Type": "application/pdf", "Kyso-PIN": PIN, "Idempotency-Key": key},
        )  # fmt: skip
    return client.stream(
        "POST", "/v1/signatures",
        files={"file": (source.name, document, "application/pdf")},
        data={"pin": PIN, "level": "B-B", "invisible": "true"},
        headers={"Idempotency-Key": key},
    )  # fmt: skip


def api_big(
    kyso: Kyso, citizen: Citizen, source: Path, small: bytes, target: Path, upload: str = "body"
) -> BigResult:
    """One B-B signature of ``source`` on a fresh, warmed-up server: client time, RSS growth."""
    server = kyso.start()
    try:
        token = login(kyso.base, citizen.email)
        with api_client(kyso.base, token) as client:
            warm = api_sign(client, small, "B-B")
            if not _signed_ok(warm):
                sys.exit(f"ours, warm-up: {warm.status_code} {warm.text[:300]}")
            pids = group_pids(server.process.pid)
            hwm_reset = reset_peaks(pids)
            baseline = sum(_status_kib(p, "VmRSS") for p in pids)
            with PeakSampler(server.process.pid) as sampler, source.open("rb") as document:
                start = time.perf_counter()
                with _post_big(client, source, document, upload) as response, \
                        target.open("wb") as out:  # fmt: skip
                    for chunk in response.iter_bytes(MIB):
                        out.write(chunk)
                seconds = time.perf_counter() - start
            hwm = sum(_status_kib(p, "VmHWM") for p in group_pids(server.process.pid))
        if response.status_code != 200:
            sys.exit(f"ours, {source.name}: HTTP {response.status_code}: "
                     f"{target.read_bytes()[:300]!r}")  # fmt: skip
        check_big_output(target, source)
    finally:
        kyso.stop()
    sampled = (sampler.peak_kib - baseline) * 1024
    marked = (hwm - baseline) * 1024 if hwm_reset else 0
    method = "VmHWM" if marked >= sampled else "VmRSS every 10 ms"
    return BigResult(seconds, max(sampled, marked), method)


# --- the benchmark ---------------------------------------------------------------------------


def transfer_floor(work: Path, source: Path, target: Path) -> float:
    """The client's time for the same request to the engine serving an app that reads the body
    and sends the same file back, doing nothing else: what HTTP alone costs here."""
    port = free_port()
    answer = {"KYSO_BENCH_ANSWER_FILE": str(source), "KYSO_BENCH_ANSWER_TYPE": "application/pdf"}
    server = spawn_answering_app(port, work / "echo.log", answer=answer)
    base = f"http://{HOST}:{port}"
    try:
        wait_until(lambda: httpx.post(base, content=b"x", timeout=2).status_code == 200, server,
                   transient=(httpx.HTTPError, OSError))  # fmt: skip
        with httpx.Client(base_url=base, timeout=REQUEST_TIMEOUT) as client, \
                source.open("rb") as document:  # fmt: skip
            start = time.perf_counter()
            with _post_big(client, source, document, "body") as response, \
                    target.open("wb") as out:  # fmt: skip
                for chunk in response.iter_bytes(MIB):
                    out.write(chunk)
            seconds = time.perf_counter() - start
        if target.stat().st_size != source.stat().st_size:
            sys.exit("the transfer floor's answer was cut short")
    finally:
        stop(server)
        target.unlink(missing_ok=True)
    return seconds


def median_ms(times: list[float]) -> float:
    return statistics.median(times) * 1000


def measure(work: Path, options: Options, say: Callable[[str], None]) -> list[Figure]:
    port = free_port()
    kyso = Kyso(kyso_env(work / "kyso-data", port), port, options.workers, work / "kyso.log")
    small = one_page_pdf()
    (work / "small.pdf").write_bytes(small)
    figures: list[Figure] = []
    kyso.cli("init")
    kyso.start()
    try:
        citizen = make_citizen(kyso)
        material = make_stock_material(kyso, work / "stock")
        stock = Stock(material, tsa_url=f"{kyso.base}/pki/tsa")
        token = login(kyso.base, citizen.email)
        with api_client(kyso.base, token) as client:
            for level in LEVELS:
                response = api_sign(client, small, level)
                if not _signed_ok(response):
                    sys.exit(f"ours, {level}: HTTP {response.status_code}: {response.text[:300]}")
                check_signed("ours", response.content, level, material)
                check_signed("stock pyHanko", stock.sign_bytes(small, level), level, material)
        say("outputs checked: intact, valid, trusted; time-stamped from B-T; B-LT offline")

        for level in LEVELS:
            token = login(kyso.base, citizen.email)
            api_rate(kyso.base, token, small, level, options.clients, options.warmup)
            ours = api_rate(kyso.base, token, small, level, options.clients, options.duration)
            stock_rate(stock, small, level, options.warmup)
            reference = stock_rate(stock, small, level, options.duration)
            say(f"{level}: ours {ours.per_second:.1f}/s, stock {reference.per_second:.1f}/s")
            figures.append(Figure(
                f"sign_api_per_s_{level}", ours.per_second, reference.per_second, "/s", "higher",
                {"ours_count": ours.count, "ours_seconds": round(ours.seconds, 2),
                 "ours_failures": ours.failures, "ours_connections_per_worker": ours.spread,
                 "reference_count": reference.count,
                 "reference_seconds": round(reference.seconds, 2),
                 "reference_failures": reference.failures,
                 **({"goal_ratio": 2} if level == "B-T" else {})},
            ))  # fmt: skip

        token = login(kyso.base, citizen.email)
        batched = {"batch": BATCH, "credential_id": citizen.credential_id}
        api_rate(kyso.base, token, small, "B-T", options.clients, options.warmup, **batched)
        ours = api_rate(kyso.base, token, small, "B-T", options.clients, options.duration,
                        **batched)  # fmt: skip
        reference = stock_rate(stock, small, "B-T", options.duration)
        say(f"B-T batch-authorised: ours {ours.per_second:.1f}/s, "
            f"stock {reference.per_second:.1f}/s")  # fmt: skip
        figures.append(Figure(
            "sign_api_per_s_B-T_batch", ours.per_second, reference.per_second, "/s", "higher",
            {"ours_count": ours.count, "ours_seconds": round(ours.seconds, 2),
             "ours_failures": ours.failures, "ours_connections_per_worker": ours.spread,
             "reference_count": reference.count,
             "reference_failures": reference.failures, "batch": BATCH, "goal_ratio": 2,
             "ours_unlock": f"a batch authorisation (PIN) per {BATCH} signatures, counted"},
        ))  # fmt: skip

        token = login(kyso.base, citizen.email)
        ours_times = api_latencies(kyso.base, token, small, "B-T", options.latency_samples)
        stock_times = stock_latencies(stock, small, "B-T", options.latency_samples)
        figures.append(Figure(
            "sign_latency_ms_B-T", median_ms(ours_times), median_ms(stock_times), "ms", "lower",
            {"samples": options.latency_samples,
             "ours_min_ms": round(min(ours_times) * 1000, 1),
             "ours_max_ms": round(max(ours_times) * 1000, 1),
             "reference_min_ms": round(min(stock_times) * 1000, 1),
             "reference_max_ms": round(max(stock_times) * 1000, 1)},
        ))  # fmt: skip
    finally:
        kyso.stop()

    for size_mb in options.sizes_mb:
        figures += measure_big(work, kyso, citizen, material, size_mb, options.repeats, say)
    log_counts = kyso_log_counts(kyso.log)
    for figure in figures:
        figure.extra["ours_log"] = log_counts
    return figures


def measure_big(
    work: Path, kyso: Kyso, citizen: Citizen, material: StockMaterial, size_mb: int,
    repeats: int, say: Callable[[str], None],
) -> list[Figure]:  # fmt: skip
    """Time and memory figures for one large document: medians of ``repeats`` runs per side."""
    source = work / f"random-{size_mb}mb.pdf"
    write_random_image_pdf(source, size_mb * 1000 * 1000)
    size = source.stat().st_size
    small = (work / "small.pdf").read_bytes()
    ours: list[BigResult] = []
    form: list[BigResult] = []
    stock: list[BigResult] = []
    floor: list[float] = []
    try:
        for _ in range(repeats):
            floor.append(transfer_floor(work, source, work / "echo.pdf"))
            ours.append(api_big(kyso, citizen, source, small, work / "ours-big-signed.pdf"))
            form.append(api_big(kyso, citizen, source, small, work / "ours-big-signed.pdf",
                                upload="form"))  # fmt: skip
            stock.append(stock_big(material, source, work / "stock-big-signed.pdf",
                                   work / "small.pdf"))  # fmt: skip
            for path in (work / "ours-big-signed.pdf", work / "stock-big-signed.pdf"):
                path.unlink(missing_ok=True)
    finally:
        source.unlink()
    for name, results in (("ours", ours), ("ours, multipart form", form), ("stock", stock)):
        runs = ", ".join(f"{r.seconds:.2f} s {r.growth_bytes / MIB:.0f} MiB" for r in results)
        say(f"{size_mb} MB, {name}: {runs}")
    say(f"{size_mb} MB, HTTP alone ({select_engine(None)} echoing the file): "
        + ", ".join(f"{x:.2f} s" for x in floor))  # fmt: skip
    common = {"file_bytes": size, "level": "B-B", "repeats": repeats}
    ours_growth = statistics.median(r.growth_bytes for r in ours)
    stock_growth = statistics.median(r.growth_bytes for r in stock)
    return [
        Figure(
            f"sign_time_s_{size_mb}MB", statistics.median(r.seconds for r in ours),
            statistics.median(r.seconds for r in stock), "s", "lower",
            {**common, "ours_all_s": [round(r.seconds, 3) for r in ours],
             "reference_all_s": [round(r.seconds, 3) for r in stock],
             "ours_measured": "client: upload start to last byte, the PDF as the body of "
                              "POST /v1/signatures/pdf",
             "reference_measured": "sign_pdf call, file to file"},
        ),
        Figure(
            f"transfer_floor_s_{size_mb}MB", statistics.median(floor),
            statistics.median(r.seconds for r in stock), "s", "lower",
            {**common, "ours_all_s": [round(x, 3) for x in floor],
             "ours_measured": f"the same client and request against {select_engine(None)} "
                              "serving an app that reads the body and sends the file back: "
                              "HTTP alone, no signing",
             "reference_measured": "sign_pdf call, file to file"},
        ),
        Figure(
            f"sign_time_s_{size_mb}MB_multipart", statistics.median(r.seconds for r in form),
            statistics.median(r.seconds for r in stock), "s", "lower",
            {**common, "ours_all_s": [round(r.seconds, 3) for r in form],
             "ours_measured": "client: upload start to last byte, the multipart form of "
                              "POST /v1/signatures",
             "ours_memory_growth_mb": round(
                 statistics.median(r.growth_bytes for r in form) / 1e6, 1),
             "reference_measured": "sign_pdf call, file to file"},
        ),
        Figure(
            f"sign_memory_growth_mb_{size_mb}MB", ours_growth / 1e6, stock_growth / 1e6, "MB",
            "lower",
            {**common, "ours_per_file_size": round(ours_growth / size, 2),
             "reference_per_file_size": round(stock_growth / size, 2), "goal_per_file_size": 1,
             "ours_all_mb": [round(r.growth_bytes / 1e6, 1) for r in ours],
             "reference_all_mb": [round(r.growth_bytes / 1e6, 1) for r in stock],
             "ours_method": sorted({r.method for r in ours}),
             "reference_method": sorted({r.method for r in stock})},
        ),
    ]  # fmt: skip


def kyso_log_counts(log: Path) -> dict[str, int]:
    """Errors in the server log: tracebacks and error lines."""
    text = log.read_text(errors="replace") if log.exists() else ""
    return {
        "tracebacks": text.count("Traceback"),
        "error_lines": sum(1 for line in text.splitlines() if line.startswith("ERROR")),
    }


def parse_options(argv: list[str]) -> Options:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help="3 s per level and side, 10 MB document only")  # fmt: skip
    parser.add_argument("--json", action="store_true", help="print one JSON line per figure")
    parser.add_argument("--duration", type=float, help="seconds measured per level and side")
    parser.add_argument("--clients", type=int, default=4, help="concurrent API client threads")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1,
                        help="kyso serve --workers (default: one per core)")  # fmt: skip
    parser.add_argument("--latency-samples", type=int, help="sequential B-T signatures per side")
    parser.add_argument("--sizes", type=int, nargs="*", help="large document sizes in MB")
    parser.add_argument("--repeats", type=int, help="runs per large document and side")
    parser.add_argument("--keep", action="store_true", help="keep the work directory and logs")
    add_server_choices(parser)
    args = parser.parse_args(argv)
    apply_server_choices(args)
    default_sizes = (10,) if args.quick else (10, 100)
    return Options(
        duration=args.duration or (3.0 if args.quick else 10.0),
        warmup=1.0 if args.quick else 2.0,
        clients=max(1, args.clients),
        workers=max(1, args.workers),
        latency_samples=max(1, args.latency_samples or (10 if args.quick else 30)),
        sizes_mb=tuple(args.sizes) if args.sizes is not None else default_sizes,
        repeats=max(1, args.repeats or (1 if args.quick else 3)),
        as_json=args.json,
        keep=args.keep,
    )


def report(options: Options, figures: list[Figure]) -> None:
    if options.as_json:
        for f in figures:
            print(json.dumps({"metric": f.metric, "ours": round(f.ours, 3),
                              "reference": round(f.reference, 3), "ratio": round(f.ratio, 3),
                              "unit": f.unit, "better": f.better, **f.extra,
                              "ours_setup": f"kyso serve --workers {options.workers}, "
                                            f"{options.clients} httpx clients",
                              "reference_setup": "pyhanko sign_pdf, one thread in-process",
                              "cpus": os.cpu_count()}))  # fmt: skip
        return
    print("PDF signing: kyso POST /v1/signatures against stock pyHanko sign_pdf in-process")
    print(
        f"  ours: kyso serve --workers {options.workers}, {options.clients} keep-alive httpx "
        f"clients; stock: one thread; {options.duration:g} s per level and side; "
        f"{os.cpu_count()} CPUs; one-page PDF, invisible signature, ECDSA P-256"
    )
    print(f"  {'figure':<34} {'ours':>12} {'stock':>12} {'ours/stock':>11}  notes")
    for f in figures:
        notes = ""
        if f.metric.startswith("sign_api_per_s"):
            notes = (f"{f.extra['ours_count']} vs {f.extra['reference_count']} signatures; "
                     f"failures {f.extra['ours_failures'] or 0} / "
                     f"{f.extra['reference_failures'] or 0}")  # fmt: skip
            if "goal_ratio" in f.extra:
                notes += f"; goal >= {f.extra['goal_ratio']}"
        elif f.metric.startswith("sign_latency"):
            notes = (f"median of {f.extra['samples']}; ours {f.extra['ours_min_ms']}-"
                     f"{f.extra['ours_max_ms']} ms, stock {f.extra['reference_min_ms']}-"
                     f"{f.extra['reference_max_ms']} ms")  # fmt: skip
        elif f.metric.startswith("sign_memory"):
            notes = (f"per file size: ours {f.extra['ours_per_file_size']}, stock "
                     f"{f.extra['reference_per_file_size']} (goal <= 1); runs: ours "
                     f"{f.extra['ours_all_mb']}, stock {f.extra['reference_all_mb']}")  # fmt: skip
        elif f.metric.startswith("sign_time"):
            notes = (f"{f.extra['file_bytes'] / 1e6:.1f} MB at B-B, median of "
                     f"{f.extra['repeats']}; ours client-side {f.extra['ours_all_s']}, "
                     f"stock sign_pdf call {f.extra.get('reference_all_s', '-')}")  # fmt: skip
        print(f"  {f.metric:<34} {f.ours:>10.2f}{f.unit:>2} {f.reference:>10.2f}{f.unit:>2} "
              f"{f.ratio:>11.2f}  {notes}")  # fmt: skip
    if figures:
        print(f"  kyso log: {figures[0].extra['ours_log']}")


def main(argv: list[str]) -> None:
    if argv[:1] == ["--stock-child"]:
        stock_child(argv[1:])
        return
    options = parse_options(argv)
    if shutil.which("openssl") is None:
        sys.exit("openssl is needed")

    def say(message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    work = Path(tempfile.mkdtemp(prefix="kyso-bench-sign-"))
    try:
        figures = measure(work, options, say)
        report(options, figures)
    finally:
        if options.keep:
            sys.stdout.flush()
            print(f"work directory kept: {work}", file=sys.stderr)
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main(sys.argv[1:])
