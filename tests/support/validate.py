"""Judging signed PDFs with tools we did not write: pdfsig, qpdf, openssl cms, pyHanko."""

from __future__ import annotations

import asyncio
import io
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

import aiohttp
from asn1crypto import pem
from asn1crypto import x509 as asn1_x509
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import async_validate_pdf_signature, async_validate_pdf_timestamp
from pyhanko.sign.validation.dss import DocumentSecurityStore
from pyhanko_certvalidator import ValidationContext
from pyhanko_certvalidator.fetchers.aiohttp_fetchers import AIOHttpFetcherBackend

from tests.support.server import require_tool


def pdfsig_report(path: Path) -> list[dict[str, str]]:
    """pdfsig's view: one dict per signature (it exits 0 whatever it finds: read the text)."""
    text = subprocess.run(
        [require_tool("pdfsig"), str(path)], capture_output=True, text=True, check=False
    ).stdout
    signatures = []
    for block in re.split(r"^Signature #\d+:$", text, flags=re.M)[1:]:
        fields = dict(re.findall(r"^[ \t]+- ([^:\n]+): (.*)$", block, flags=re.M))
        fields["_covers_all"] = "yes" if "Total document signed" in block else "no"
        signatures.append(fields)
    return signatures


def qpdf_clean(path: Path) -> bool:
    result = subprocess.run(
        [require_tool("qpdf"), "--check", str(path)], capture_output=True, text=True, check=False
    )
    return result.returncode == 0 and "No syntax or stream encoding errors found" in result.stdout


def openssl_cms_verifies(path: Path, root_pem: Path, workdir: Path) -> list[bool]:
    """For every (non-timestamp) signature: does ``openssl cms -verify`` accept its CMS?"""
    data = path.read_bytes()
    reader = PdfFileReader(io.BytesIO(data))
    results = []
    for n, sig in enumerate(reader.embedded_regular_signatures):
        cms_file, content = workdir / f"sig{n}.der", workdir / f"content{n}.bin"
        cms_file.write_bytes(sig.pkcs7_content)
        ranges = [int(v) for v in sig.sig_object["/ByteRange"]]
        content.write_bytes(
            data[ranges[0] : ranges[0] + ranges[1]] + data[ranges[2] : ranges[2] + ranges[3]]
        )
        result = subprocess.run(
            [require_tool("openssl"), "cms", "-verify", "-binary", "-inform", "DER", "-in", str(cms_file),
             "-content", str(content), "-CAfile", str(root_pem), "-purpose", "any", "-out", "/dev/null"],
            capture_output=True, text=True, check=False,
        )  # fmt: skip
        results.append(result.returncode == 0 and "Verification successful" in result.stderr)
    return results


@dataclass(frozen=True)
class PyhankoVerdict:
    intact: bool
    valid: bool
    trusted: bool
    timestamp_trusted: bool
    long_term: bool
    """Validation succeeds offline from the document's DSS alone (hard-fail revocation)."""
    archive_timestamp: bool
    """A valid document time-stamp follows the signature and its DSS."""


def pyhanko_verdicts(path: Path, root: asn1_x509.Certificate) -> list[PyhankoVerdict]:
    """pyHanko's validator on every signature, fetching revocation over HTTP from our responders."""

    async def run() -> list[PyhankoVerdict]:
        reader = PdfFileReader(io.BytesIO(path.read_bytes()))
        dss = DocumentSecurityStore.read_dss(reader) if "/DSS" in reader.root else None
        verdicts = []
        async with aiohttp.ClientSession() as session:
            for sig in reader.embedded_regular_signatures:
                online = ValidationContext(trust_roots=[root], allow_fetching=True, revocation_mode="hard-fail",
                                           fetcher_backend=AIOHttpFetcherBackend(session))  # fmt: skip
                status = await async_validate_pdf_signature(sig, online)
                long_term = False
                if dss is not None:
                    offline = dss.as_validation_context(
                        {
                            "trust_roots": [root],
                            "allow_fetching": False,
                            "revocation_mode": "hard-fail",
                        }
                    )
                    long_term = (await async_validate_pdf_signature(sig, offline)).bottom_line
                ts = status.timestamp_validity
                verdicts.append(PyhankoVerdict(
                    intact=status.intact, valid=status.valid, trusted=status.trusted,
                    timestamp_trusted=bool(ts and ts.intact and ts.valid and ts.trusted),
                    long_term=long_term, archive_timestamp=False,
                ))  # fmt: skip
            doc_timestamps = reader.embedded_timestamp_signatures
            if doc_timestamps and verdicts:
                vc = ValidationContext(trust_roots=[root], allow_fetching=True,
                                       fetcher_backend=AIOHttpFetcherBackend(session))  # fmt: skip
                ts_status = await async_validate_pdf_timestamp(
                    doc_timestamps[-1], validation_context=vc
                )
                last = verdicts[-1]
                verdicts[-1] = PyhankoVerdict(**{**last.__dict__, "archive_timestamp": bool(
                    ts_status.intact and ts_status.valid and ts_status.trusted)})  # fmt: skip
        return verdicts

    return asyncio.run(run())


def _root(root_pem: Path) -> asn1_x509.Certificate:
    _, _, der = pem.unarmor(root_pem.read_bytes())
    return asn1_x509.Certificate.load(der)


def judge_signed_pdf(
    document: Path, root_pem: Path, level: str, signatures: int, workdir: Path
) -> None:
    """pdfsig, qpdf, openssl cms and pyHanko (trusting only ``root_pem``) all accept every
    signature of ``document`` at ``level``."""
    pdfsig = [
        s for s in pdfsig_report(document) if s.get("Signature Type") == "ETSI.CAdES.detached"
    ]
    assert len(pdfsig) == signatures
    assert all(s["Signature Validation"] == "Signature is Valid." for s in pdfsig), pdfsig
    assert qpdf_clean(document)
    assert openssl_cms_verifies(document, root_pem, workdir) == [True] * signatures
    verdicts = pyhanko_verdicts(document, _root(root_pem))
    assert len(verdicts) == signatures
    for verdict in verdicts:
        assert (verdict.intact, verdict.valid, verdict.trusted) == (True, True, True), verdict
        assert verdict.timestamp_trusted == (level != "B-B"), verdict
        assert verdict.long_term == (level in ("B-LT", "B-LTA")) or signatures > 1, verdict
    if level == "B-LTA":
        assert verdicts[-1].archive_timestamp
    if level in ("B-LT", "B-LTA"):
        assert verdicts[-1].long_term
