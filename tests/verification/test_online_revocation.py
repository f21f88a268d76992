"""With online fetching allowed, another CA's CRL is fetched from the address its certificates
name (served here by a local HTTP server, reachable as KYSO_VERIFY_PRIVATE_ADDRESSES allows);
without it, the same document stays undecided."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from api.outbound import any_address, http_fetchers
from signing.verification import VerificationSettings, verify_pdf
from tests.support.foreign_pki import NOW, ForeignPki
from tests.support.pdfs import simple_pdf


@pytest.fixture
def crl_server(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """An HTTP server on 127.0.0.1 serving ``root.crl`` from a folder."""
    handler = lambda *args: http.server.SimpleHTTPRequestHandler(  # noqa: E731
        *args, directory=str(tmp_path)
    )
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/root.crl", tmp_path / "root.crl"
    finally:
        server.shutdown()


def test_another_cas_revocation_is_fetched_online_only_when_allowed(
    crl_server: tuple[str, Path], tmp_path: Path
) -> None:
    url, served = crl_server
    loopback = http_fetchers(any_address)
    pki = ForeignPki.create("Online Root CA")
    pki.crl_url = url
    days = timedelta(days=1)
    good = pki.issue("Còn Hiệu Lực", not_before=NOW - days, not_after=NOW + 30 * days)
    bad = pki.issue("Đã Thu Hồi", not_before=NOW - 10 * days, not_after=NOW + 30 * days)
    pki.revoked[bad.cert.serial_number] = NOW - 2 * days
    served.write_bytes(pki.crl(NOW))
    documents = {}
    for name, signer in (("good", good), ("bad", bad)):
        documents[name] = tmp_path / f"{name}.pdf"
        documents[name].write_bytes(pki.sign(simple_pdf(), signer))
    offline = verify_pdf(documents["good"], VerificationSettings([pki.root.asn1], online=False))
    assert offline.indication == "INDETERMINATE"
    online = verify_pdf(
        documents["good"],
        VerificationSettings([pki.root.asn1], online=True, fetchers=loopback),
    )
    assert online.indication == "TOTAL_PASSED", online.reasons
    assert online.signatures[0].revocation == {
        "status": "good",
        "source": "online",
        "revoked_at": None,
        "reason": None,
    }
    revoked = verify_pdf(
        documents["bad"], VerificationSettings([pki.root.asn1], online=True, fetchers=loopback)
    )
    assert (revoked.indication, revoked.subindication) == ("INDETERMINATE", "REVOKED_NO_POE")
    assert revoked.signatures[0].revocation["status"] == "revoked"
