"""PDF verification: kyso's ``POST /v1/verifications`` against pyHanko's validation in-process
(P4, goal >= 0.8x), on the same documents, in the same run.

* ours: ``kyso serve --workers N`` (one per core unless ``--workers``; SQLite), driven by
  ``--clients`` threads with keep-alive clients, as an agency officer: each request uploads
  the PDF, kyso validates every signature (pyHanko underneath, our CA's records or the
  document's DSS for revocation, the diff analysis of later changes), meters the verification
  and answers the JSON report;
* the reference: pyHanko's ``async_validate_pdf_signature`` (and ``async_validate_pdf_timestamp``
  for document time-stamps) called back to back in one thread of this process on the same
  file, with a ``ValidationContext`` built from the document's DSS, trusting kyso's root,
  revocation checking on hard-fail, as pyHanko's own tooling validates a LTV document (for
  a document without a DSS, fetching our OCSP answers over HTTP).

The document: one page signed by kyso at B-LT (its DSS carries our OCSP answers and CRLs),
and, for the large-file figure, a 100 MB PDF (random image, nothing compresses) signed by kyso
at B-B: the time from the start of the upload to the end of the report against pyHanko's
validation of the same file in-process.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import os
import shutil
import statistics
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

import httpx
from _common import free_port, kyso_env
from asn1crypto import x509 as asn1_x509
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import async_validate_pdf_signature, async_validate_pdf_timestamp
from pyhanko.sign.validation.dss import DocumentSecurityStore
from pyhanko.sign.validation.errors import NoDSSFoundError
from pyhanko_certvalidator import ValidationContext
from sign import (
    PASSWORD,
    Kyso,
    api_client,
    api_sign,
    login,
    make_citizen,
    one_page_pdf,
    write_random_image_pdf,
)

MIB = 1024 * 1024


def reference_validate(data: bytes | Path, root: asn1_x509.Certificate) -> bool:
    """pyHanko's validation of every signature; True when all are intact, valid and trusted."""

    async def run(stream: io.BufferedIOBase | io.BytesIO) -> bool:
        reader = PdfFileReader(stream, strict=False)
        kwargs = {"trust_roots": [root], "allow_fetching": False, "revocation_mode": "hard-fail"}
        try:
            context = DocumentSecurityStore.read_dss(reader).as_validation_context(kwargs)
        except NoDSSFoundError:  # no LTV data: fetch our OCSP answers over HTTP, as stock does
            context = ValidationContext(**{**kwargs, "allow_fetching": True})  # type: ignore[arg-type]
        ok = True
        for sig in reader.embedded_signatures:
            if sig.sig_object_type == "/DocTimeStamp":
                status = await async_validate_pdf_timestamp(sig, context)
            else:
                status = await async_validate_pdf_signature(
                    sig, context, ts_validation_context=context
                )
            ok = ok and status.bottom_line
        return ok

    if isinstance(data, Path):
        with data.open("rb") as stream:
            return asyncio.run(run(stream))
    return asyncio.run(run(io.BytesIO(data)))


def reference_rate(
    data: bytes, root: asn1_x509.Certificate, seconds: float, *, must_pass: bool = True
) -> float:
    """pyHanko's validations per second; ``must_pass``: stop if it judges the document
    invalid (stock pyHanko cannot explain a comment added after signing: not for that one)."""
    done, start = 0, time.monotonic()
    while time.monotonic() - start < seconds:
        if not reference_validate(data, root) and must_pass:
            sys.exit("the reference judged our document invalid")
        done += 1
    return done / (time.monotonic() - start)


def _with_comment(signed: bytes) -> bytes:
    """A sticky note in the margin beside the text, added in an incremental update (allowed)."""
    from pyhanko.pdf_utils import generic as gen
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter

    writer = IncrementalPdfFileWriter(io.BytesIO(signed))
    page = writer.find_page_for_modification(0)[0].get_object()
    note = gen.DictionaryObject(
        {
            gen.NameObject("/Type"): gen.NameObject("/Annot"),
            gen.NameObject("/Subtype"): gen.NameObject("/Text"),
            gen.NameObject("/Rect"): gen.ArrayObject(
                [gen.FloatObject(v) for v in (520, 300, 540, 320)]
            ),
            gen.NameObject("/Contents"): gen.TextStringObject("Đã xem"),
        }
    )
    annots = page.get("/Annots", gen.ArrayObject())
    annots.append(writer.add_object(note))
    page["/Annots"] = annots
    writer.update_container(page)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def api_verify(client: httpx.Client, document: object, name: str) -> httpx.Response:
    return client.post("/v1/verifications", files={"file": (name, document, "application/pdf")})


def api_rate(
    base: str, token: str, data: bytes, clients: int, seconds: float
) -> tuple[float, dict[str, int]]:
    counts = [0] * clients
    failures: Counter[str] = Counter()
    lock = threading.Lock()
    deadline = time.monotonic() + seconds
    start = time.monotonic()

    def loop(index: int) -> None:
        with api_client(base, token) as client:
            while time.monotonic() < deadline:
                answer = api_verify(client, data, "hop-dong.pdf")
                if answer.status_code == 200 and answer.json()["indication"] == "TOTAL_PASSED":
                    counts[index] += 1
                else:
                    with lock:
                        failures[f"{answer.status_code} {answer.text[:80]}"] += 1

    threads = [threading.Thread(target=loop, args=(n,)) for n in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sum(counts) / (time.monotonic() - start), dict(failures)


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="3 s per measurement, not 10 s")
    parser.add_argument("--json", action="store_true", help="print one JSON line per figure")
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--large-mb", type=int, default=100, help="0 skips the large file")
    options = parser.parse_args(argv)
    seconds = 3.0 if options.quick else 10.0
    work = Path(tempfile.mkdtemp(prefix="kyso-bench-verify-"))
    port = free_port()
    kyso = Kyso(kyso_env(work / "kyso-data", port), port, options.workers, work / "kyso.log")
    try:
        kyso.start()
        citizen = make_citizen(kyso)
        officer = f"agency-{port}@kyso.test"
        kyso.cli(
            "admin",
            "create-user",
            "--email",
            officer,
            "--password",
            PASSWORD,
            "--role",
            "agency_officer",
        )
        root = asn1_x509.Certificate.load(httpx.get(f"{kyso.base}/pki/ca/root.crt").content)
        with api_client(kyso.base, login(kyso.base, citizen.email)) as client:
            signed = api_sign(client, one_page_pdf(), "B-LT")
            if signed.status_code != 200:
                sys.exit(f"signing the bench document failed: {signed.text[:300]}")
        document = signed.content
        if not reference_validate(document, root):
            sys.exit("pyHanko does not validate our B-LT document")
        token = login(kyso.base, officer)
        ours, failures = api_rate(kyso.base, token, document, options.clients, seconds)
        stock = reference_rate(document, root, seconds)
        figures = [
            {
                "metric": "P4",
                "ratio": round(ours / stock, 3),
                "ours_per_s": round(ours, 2),
                "reference_per_s": round(stock, 2),
                "failures": failures,
            }
        ]
        # the same document with a comment added after signing: kyso draws the changed page
        # (signed revision and now) to judge it; the reference does not look at pages
        commented = _with_comment(document)
        ours_changed, changed_failures = api_rate(kyso.base, token, commented, options.clients,
                                                  seconds)  # fmt: skip
        stock_changed = reference_rate(commented, root, seconds, must_pass=False)
        figures.append(
            {
                "metric": "P4_changed",
                "ratio": round(ours_changed / stock_changed, 3),
                "ours_per_s": round(ours_changed, 2),
                "reference_per_s": round(stock_changed, 2),
                "failures": changed_failures,
            }
        )
        if options.large_mb:
            figures.append(_large(kyso, citizen.email, token, root, work, options.large_mb))
    finally:
        kyso.stop()
        shutil.rmtree(work, ignore_errors=True)
    if options.json:
        for figure in figures:
            print(json.dumps(figure))
        return
    print(
        f"PDF verification: kyso POST /v1/verifications ({options.workers} workers, "
        f"{options.clients} clients) against pyHanko in-process (one thread), {seconds:.0f} s each"
    )
    p4, changed = figures[0], figures[1]
    print(
        f"  one-page B-LT: ours {p4['ours_per_s']}/s, pyHanko {p4['reference_per_s']}/s, "
        f"ratio {p4['ratio']} (goal >= 0.8); failures {p4['failures'] or 0}"
    )
    print(
        f"  the same with a comment added after signing (pages drawn and compared): ours "
        f"{changed['ours_per_s']}/s, pyHanko {changed['reference_per_s']}/s, ratio "
        f"{changed['ratio']}; failures {changed['failures'] or 0}"
    )
    if len(figures) > 2:
        big = figures[2]
        print(
            f"  {big['size_mb']} MB B-B: ours {big['ours_s']} s (upload to report), pyHanko "
            f"{big['reference_s']} s, ratio {big['ratio']} (time, lower is better)"
        )


def _large(
    kyso: Kyso,
    citizen_email: str,
    token: str,
    root: asn1_x509.Certificate,
    work: Path,
    size_mb: int,
) -> dict[str, object]:
    source, signed = work / "large.pdf", work / "large-signed.pdf"
    write_random_image_pdf(source, size_mb * MIB)
    with api_client(kyso.base, login(kyso.base, citizen_email)) as client, source.open("rb") as f:
        answer = api_sign(client, f, "B-B")
        if answer.status_code != 200:
            sys.exit(f"signing the large document failed: {answer.text[:300]}")
        signed.write_bytes(answer.content)
    with api_client(kyso.base, token) as client:
        times = []
        for _ in range(3):
            with signed.open("rb") as stream:
                start = time.perf_counter()
                answer = api_verify(client, stream, "large.pdf")
                times.append(time.perf_counter() - start)
            if answer.status_code != 200 or answer.json()["indication"] != "TOTAL_PASSED":
                sys.exit(f"ours, large file: {answer.status_code} {answer.text[:300]}")
    reference = []
    for _ in range(3):
        start = time.perf_counter()
        if not reference_validate(signed, root):
            sys.exit("the reference judged the large document invalid")
        reference.append(time.perf_counter() - start)
    ours, stock = statistics.median(times), statistics.median(reference)
    return {
        "metric": "P4_large",
        "ratio": round(ours / stock, 3),
        "ours_s": round(ours, 3),
        "reference_s": round(stock, 3),
        "size_mb": size_mb,
    }


if __name__ == "__main__":
    main(sys.argv[1:])
