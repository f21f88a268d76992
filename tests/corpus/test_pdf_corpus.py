"""Every PDF of the third-party corpus (qpdf's and pyHanko's test files, ``MANIFEST.tsv``)
through a real ``kyso serve``: signed at B-T (invisible) and at B-LT (a visible stamp on
page 1), or refused with a 4xx, a stable code and words a citizen can act on; never a 5xx.

What kyso delivers is judged by tools we did not write: pdfsig (the new signature valid and
covering the whole file), ``qpdf --check`` (no problem the upload did not have), pyHanko's
validator (intact, valid, trusted to kyso's root, time-stamped; at B-LT offline from the DSS),
kyso's own verifier through the API (our signature TOTAL_PASSED: the invariant), and page 1
drawn by pdfium before and after (no pixel changed outside the stamp).

PDF handling does not depend on the database: this runs on SQLite only. The per-file table is
``artifacts/corpus/corpus.tsv`` (and ``.json``, with the totals in ``totals.json``).
"""

from __future__ import annotations

import concurrent.futures
import json
import re
import shutil
import threading
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from asn1crypto import x509 as asn1_x509

from tests.e2e.signing_helpers import PIN, make_signers
from tests.support.artifacts import ARTIFACTS
from tests.support.corpus import (
    CorpusFile,
    corpus_files,
    last_kyso_signature,
    page_one_difference,
    pdfsig_judges_last,
    pyhanko_judges_last,
    qpdf_new_problems,
)
from tests.support.server import KysoServer

FILES = corpus_files()
COUNTERSIGN_REFUSED = "signing.earlier_signature_fails"
THREADS = 3
"""Files in flight at once (the server has two workers; the validators run beside them)."""
PYTHON_TEXT = re.compile(
    r"Traceback|invalid literal|object has no attribute|NoneType|unexpected keyword|"
    r"not subscriptable|KeyError|IndexError|\bint\(\)|got an unexpected|pyhanko|PdfReadError",
    re.IGNORECASE,
)
"""What a refusal must not show a citizen: Python's own words."""


@dataclass
class Attempt:
    status: int = 0
    code: str = ""
    detail: str = ""
    pdfsig: str = ""
    qpdf: str = ""
    pyhanko: str = ""
    kyso: str = ""
    kyso_document: str = ""
    pixels: int = -1
    connection: str = "kept"
    """``kept``: the next request on the same connection was answered."""

    def problems(self) -> list[str]:
        if self.status == 200:
            found = [
                f"{tool}: {said}"
                for tool, said, wanted in (
                    ("pdfsig", self.pdfsig, "valid"),
                    ("pyhanko", self.pyhanko.split(" (pyHanko's diff")[0], "valid"),
                    ("kyso", self.kyso, "TOTAL_PASSED"),
                )
                if said != wanted
            ]
            if self.qpdf:
                found.append(f"qpdf: {self.qpdf}")
            if self.pixels != 0:
                found.append(f"page 1 changed: {self.pixels} pixels")
        elif 400 <= self.status < 500:
            found = [] if self.code and self.detail else ["a refusal without code or words"]
            if PYTHON_TEXT.search(self.detail):
                found.append(f"Python's words shown: {self.detail[:120]}")
        else:
            found = [f"HTTP {self.status}"]
        if self.connection != "kept":
            found.append(f"connection: {self.connection}")
        return found


@dataclass
class Row:
    file: str
    source: str
    b_t: Attempt = field(default_factory=Attempt)
    b_lt: Attempt = field(default_factory=Attempt)
    seconds: float = 0.0

    @property
    def outcome(self) -> str:
        statuses = {self.b_t.status, self.b_lt.status}
        if any(s >= 500 or s == 0 for s in statuses):
            return "server_error"
        if self.b_t.problems() or self.b_lt.problems():
            return "disagreement" if 200 in statuses else "unclear_refusal"
        if statuses == {200}:
            return "signed"
        return "refused" if 200 not in statuses else "signed_one_refused_other"


def _judge_in_process(
    before: str, after: str, root_der: bytes, long_term: bool, visible: bool
) -> tuple[str, int]:
    """pyHanko's verdict and page 1's changed pixels (a worker process: pdfium is not
    thread-safe)."""
    from pyhanko.pdf_utils.reader import PdfFileReader

    root = asn1_x509.Certificate.load(root_der)
    verdict = pyhanko_judges_last(Path(after), root, long_term=long_term)
    mask = None
    try:
        if visible:
            with open(after, "rb") as stream:
                reader = PdfFileReader(stream, strict=False)
                if reader.encrypted:
                    reader.decrypt(b"")
                field_ = last_kyso_signature(reader).sig_field
                widget = field_ if "/Rect" in field_ else field_["/Kids"][0].get_object()
                x1, y1, x2, y2 = (float(v) for v in widget["/Rect"])
                mask = (min(x1, x2), min(y1, y2), max(x1, x2), max(y1, y2))
    except Exception:  # no stamp found: the whole page is compared
        verdict += " (no stamp widget found)"
    # pdfium and poppler differ on some files (widgets without a form, damaged streams): the
    # page is unchanged when either reader draws it unchanged, both sides alike
    counts = []
    for renderer in ("pdfium", "poppler"):
        try:
            counts.append(page_one_difference(Path(before), Path(after), mask=mask,
                                              renderer=renderer))  # fmt: skip
        except Exception:  # noqa: S112 - this reader cannot draw one of them
            continue
        if counts[-1] == 0:
            break
    return verdict, min(counts) if counts else -2


class _Clients:
    """One HTTP client per thread, each with its keep-alive connection."""

    def __init__(self, server: KysoServer, token: str) -> None:
        self.server, self.token = server, token
        self.local = threading.local()

    def get(self) -> httpx.Client:
        client = getattr(self.local, "client", None)
        if client is None:
            client = httpx.Client(
                base_url=self.server.url,
                headers={"Authorization": f"Bearer {self.token}"},
                timeout=180,
            )
            self.local.client = client
        return client


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9.-]", "_", name)


def _post(clients: _Clients, path: str, **kwargs: Any) -> tuple[httpx.Response, str]:
    """The answer, and whether the connection the previous request left was still usable."""
    try:
        return clients.get().post(path, **kwargs), "kept"
    except httpx.TransportError as exc:
        clients.local.client = None
        return clients.get().post(path, **kwargs), f"broken ({type(exc).__name__})"


def _attempt(
    file: CorpusFile,
    clients: _Clients,
    pool: concurrent.futures.ProcessPoolExecutor,
    root_der: bytes,
    out_dir: Path,
    *,
    level: str,
    visible: bool,
) -> Attempt:
    data = file.path.read_bytes()
    form = {"pin": PIN, "level": level, **({"page": "1"} if visible else {"invisible": "true"})}
    upload = {"file": (Path(file.name).name, data, "application/pdf")}
    response, connection = _post(clients, "/v1/signatures", files=upload, data=form)
    confirmed = ""
    if response.status_code == 409 and response.json().get("code") == COUNTERSIGN_REFUSED:
        # an earlier signature fails: refused before charging; the caller may confirm
        confirmed = f"{COUNTERSIGN_REFUSED} (confirmed)"
        form["confirm_countersign"] = "true"
        response, connection = _post(clients, "/v1/signatures", files=upload, data=form)
    attempt = Attempt(status=response.status_code, connection=connection, code=confirmed)
    if response.status_code != 200:
        try:
            body = response.json()
            attempt.code, attempt.detail = str(body.get("code", "")), str(body.get("detail", ""))
        except ValueError:
            attempt.detail = response.text[:200]
        # the connection must stay usable after a refusal: the next request says so
        health, kept = _post(clients, "/v1/signatures", files={}, data={})
        if kept != "kept" or health.status_code >= 500:
            attempt.connection = kept if kept != "kept" else f"HTTP {health.status_code}"
        return attempt
    signed = out_dir / f"{_safe(file.name)}-{level}.pdf"
    signed.write_bytes(response.content)
    judged = pool.submit(
        _judge_in_process, str(file.path), str(signed), root_der, level == "B-LT", visible
    )
    attempt.pdfsig = pdfsig_judges_last(signed, whole=level == "B-T")
    attempt.qpdf = "; ".join(qpdf_new_problems(file.path, signed))[:300]
    verified, _ = _post(
        clients,
        "/v1/verifications",
        files={"file": (signed.name, response.content, "application/pdf")},
    )
    if verified.status_code == 200:
        report = verified.json()
        ours = [s for s in report["signatures"] if s["field"].startswith("kyso-")]
        attempt.kyso_document = report["indication"]
        attempt.kyso = (
            "no kyso signature seen"
            if not ours
            else ours[-1]["indication"]
            + (f" {ours[-1]['subindication']}" if ours[-1]["subindication"] else "")
            + (f" ({'; '.join(ours[-1]['reasons'])[:160]})" if ours[-1]["reasons"] else "")
        )
        if not ours:
            attempt.kyso += f" ({'; '.join(report['reasons'])[:160]})"
    else:
        attempt.kyso = f"HTTP {verified.status_code}"
    attempt.pyhanko, attempt.pixels = judged.result(timeout=300)
    return attempt


def _run_file(
    file: CorpusFile,
    clients: _Clients,
    pool: concurrent.futures.ProcessPoolExecutor,
    root_der: bytes,
    out_dir: Path,
) -> Row:
    started = time.monotonic()
    row = Row(file.name, file.source)
    row.b_t = _attempt(file, clients, pool, root_der, out_dir, level="B-T", visible=False)
    row.b_lt = _attempt(file, clients, pool, root_der, out_dir, level="B-LT", visible=True)
    row.seconds = round(time.monotonic() - started, 2)
    return row


def _totals(rows: list[Row]) -> dict[str, Any]:
    attempts = [a for r in rows for a in (r.b_t, r.b_lt)]
    refused = Counter(a.code for a in attempts if 400 <= a.status < 500)
    return {
        "files": len(rows),
        "outcomes": dict(Counter(r.outcome for r in rows)),
        "signatures_delivered": sum(a.status == 200 for a in attempts),
        "signatures_valid_everywhere": sum(a.status == 200 and not a.problems() for a in attempts),
        "refused_4xx_by_code": dict(refused.most_common()),
        "signed_after_confirming_a_failing_earlier_signature": sum(
            a.status == 200 and a.code.startswith(COUNTERSIGN_REFUSED) for a in attempts
        ),
        "server_errors_5xx": sum(a.status >= 500 for a in attempts),
        "connections_broken": sum(a.connection != "kept" for a in attempts),
        "disagreements": {
            tool: sum(
                a.status == 200
                and bool(
                    getattr(a, tool).split(" (pyHanko's diff")[0] != want
                    if want
                    else getattr(a, tool)
                )
                for a in attempts
            )
            for tool, want in (
                ("pdfsig", "valid"),
                ("qpdf", ""),
                ("pyhanko", "valid"),
                ("kyso", "TOTAL_PASSED"),
            )
        },
        "page_one_changed": sum(a.status == 200 and a.pixels != 0 for a in attempts),
        "pyhanko_diff_analysis_unreadable": sum("pyHanko's diff" in a.pyhanko for a in attempts),
        "seconds_per_file": round(sum(r.seconds for r in rows) / max(1, len(rows)), 2),
    }


def _write_table(rows: list[Row], totals: dict[str, Any], seconds: float) -> Path:
    folder = ARTIFACTS / "corpus"
    folder.mkdir(parents=True, exist_ok=True)
    columns = ["status", "code", "pdfsig", "qpdf", "pyhanko", "kyso", "pixels", "connection"]
    with (folder / "corpus.tsv").open("w") as table:
        header = ["file", "source", "outcome"]
        header += [f"{level}_{c}" for level in ("bt", "blt") for c in columns]
        table.write("\t".join([*header, "refusal_bt", "refusal_blt", "seconds"]) + "\n")
        for row in rows:
            cells = [row.file, row.source, row.outcome]
            for attempt in (row.b_t, row.b_lt):
                cells += [str(getattr(attempt, c)) for c in columns]
            cells += [row.b_t.detail, row.b_lt.detail, str(row.seconds)]
            table.write("\t".join(c.replace("\t", " ").replace("\n", " ") for c in cells) + "\n")
    (folder / "corpus.json").write_text(
        json.dumps([{**asdict(r), "outcome": r.outcome} for r in rows], indent=1)
    )
    (folder / "totals.json").write_text(
        json.dumps({**totals, "wall_seconds": round(seconds, 1)}, indent=2)
    )
    return folder


@pytest.fixture(scope="module")
def corpus_table(
    corpus_server: KysoServer, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Row]:
    (signer,) = make_signers(corpus_server, 1, funds=2 * len(FILES) * 20_000)
    token = signer.account.client.headers["Authorization"].removeprefix("Bearer ")
    clients = _Clients(corpus_server, token)
    root_der = httpx.get(f"{corpus_server.url}/pki/ca/root.crt").content
    out_dir = tmp_path_factory.mktemp("corpus-signed")
    started = time.monotonic()
    with (
        concurrent.futures.ProcessPoolExecutor(2) as pool,
        concurrent.futures.ThreadPoolExecutor(THREADS) as threads,
    ):
        rows = list(threads.map(lambda f: _run_file(f, clients, pool, root_der, out_dir), FILES))
    totals = _totals(rows)
    folder = _write_table(rows, totals, time.monotonic() - started)
    kept = folder / "problems"  # what kyso delivered where a tool disagrees, to look at
    shutil.rmtree(kept, ignore_errors=True)
    for row in rows:
        if row.b_t.problems() or row.b_lt.problems():
            kept.mkdir(exist_ok=True)
            for signed in out_dir.glob(f"{_safe(row.file)}-*.pdf"):
                shutil.copy(signed, kept / signed.name)
    return {r.file: r for r in rows}


@pytest.mark.parametrize("name", [f.name for f in FILES])
def test_corpus_file_is_signed_valid_everywhere_or_refused_in_words(
    corpus_table: dict[str, Row], name: str
) -> None:
    row = corpus_table[name]
    problems = [f"B-T: {p}" for p in row.b_t.problems()]
    problems += [f"B-LT: {p}" for p in row.b_lt.problems()]
    assert not problems, (row.outcome, problems, row.b_t.detail, row.b_lt.detail)


def test_no_corpus_file_gets_a_server_error_or_breaks_the_connection(
    corpus_table: dict[str, Row],
) -> None:
    totals = _totals(list(corpus_table.values()))
    assert totals["server_errors_5xx"] == 0, totals
    assert totals["connections_broken"] == 0, totals
    assert totals["files"] == len(FILES) >= 280
