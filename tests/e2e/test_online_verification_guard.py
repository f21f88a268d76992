"""Issue 17 item 10 over a real server: with KYSO_VERIFY_ONLINE=true, a citizen's upload whose
certificate names a loopback CRL URL does not make the server fetch it."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from tests.support.api import staff
from tests.support.foreign_pki import NOW, ForeignPki
from tests.support.http_recorder import Recorder
from tests.support.pdfs import simple_pdf
from tests.support.server import KysoServer, own_server


@pytest.fixture(scope="module")
def online(backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[KysoServer]:
    directory = tmp_path_factory.mktemp(f"online-{backend}")
    with own_server(backend, directory, extra_env={"KYSO_VERIFY_ONLINE": "true"}) as running:
        yield running


def test_an_uploaded_certificate_cannot_make_the_server_fetch_loopback(
    online: KysoServer, tmp_path: Path
) -> None:
    inside = Recorder("127.0.0.1").start()
    try:
        pki = ForeignPki.create(f"Loopback Root {online.port}")
        for url in (inside.url, inside.url.replace("127.0.0.1", "localhost")):
            pki.crl_url = url
            signer = pki.issue("Kẻ Tấn Công", not_before=NOW - timedelta(days=1),
                               not_after=NOW + timedelta(days=30))  # fmt: skip
            inside.body = pki.crl(NOW)
            document = pki.sign(simple_pdf(), signer)
            admin = staff(online, "admin")
            added = admin.client.post(
                "/v1/admin/trust-anchors", json={"certificate": pki.root_pem.decode()}
            )
            assert added.status_code in (200, 201), added.text
            officer = staff(online, "agency_officer")
            report = officer.client.post(
                "/v1/verifications", timeout=120,
                files={"file": ("x.pdf", document, "application/pdf")},
            )  # fmt: skip
            assert report.status_code == 200, report.text
            assert report.json()["indication"] == "INDETERMINATE", report.json()
        assert inside.requests == [], "the server fetched a loopback URL"
        assert "refused to fetch" in online.log()
    finally:
        inside.stop()
