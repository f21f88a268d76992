"""Issue 17 item 10: online verification fetches only from public addresses, checked after DNS
resolution and on every redirect, http(s) only, bounded in size; a certificate naming a
loopback URL never makes the server reach it."""

from __future__ import annotations

import ipaddress
import logging
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from api.outbound import MAX_RESPONSE_BYTES, http_fetchers, is_public
from signing.verification import VerificationSettings, verify_pdf
from tests.support.foreign_pki import NOW, ForeignPki
from tests.support.http_recorder import Recorder
from tests.support.pdfs import simple_pdf


@pytest.fixture
def recorders() -> Iterator[list[Recorder]]:
    started: list[Recorder] = []
    yield started
    for recorder in started:
        recorder.stop()


def _signed_naming(url: str, tmp_path: Path) -> tuple[ForeignPki, Path]:
    pki = ForeignPki.create("Online Root CA")
    pki.crl_url = url
    signer = pki.issue("Còn Hiệu Lực", not_before=NOW - timedelta(days=1),
                       not_after=NOW + timedelta(days=30))  # fmt: skip
    document = tmp_path / "signed.pdf"
    document.write_bytes(pki.sign(simple_pdf(), signer))
    return pki, document


@pytest.mark.parametrize(
    ("address", "public"),
    [
        ("8.8.8.8", True), ("2606:4700::1111", True), ("127.0.0.1", False),
        ("127.255.0.9", False), ("10.1.2.3", False), ("172.20.0.1", False),
        ("192.168.1.1", False), ("100.64.0.1", False), ("100.100.100.200", False),
        ("169.254.169.254", False), ("0.0.0.0", False),  # noqa: S104 ("224.0.1.1", False),
        ("255.255.255.255", False), ("192.0.2.1", False), ("::1", False), ("::", False),
        ("fe80::1", False), ("fd00:ec2::254", False), ("ff02::1", False),
        ("::ffff:127.0.0.1", False), ("::ffff:169.254.169.254", False),
        ("64:ff9b::a9fe:a9fe", False), ("2002:7f00:1::1", False), ("2002:808:808::1", True),
        ("2001:db8::1", False),
    ],
)  # fmt: skip
def test_only_globally_routed_unicast_addresses_are_public(address: str, public: bool) -> None:
    assert is_public(ipaddress.ip_address(address)) is public


def test_a_certificate_naming_a_loopback_url_is_never_fetched(
    recorders: list[Recorder], tmp_path: Path
) -> None:
    crl_server = Recorder("127.0.0.1").start()
    recorders.append(crl_server)
    pki, document = _signed_naming(crl_server.url, tmp_path)
    crl_server.body = pki.crl(NOW)
    for url in (crl_server.url, crl_server.url.replace("127.0.0.1", "localhost")):
        pki.crl_url = url
        signer = pki.issue("Ai Đó", not_before=NOW - timedelta(days=1),
                           not_after=NOW + timedelta(days=30))  # fmt: skip
        document.write_bytes(pki.sign(simple_pdf(), signer))
        report = verify_pdf(
            document, VerificationSettings([pki.root.asn1], online=True, fetchers=http_fetchers())
        )
        assert report.indication == "INDETERMINATE", url
    assert crl_server.requests == []
    # the same server and documents, with every address allowed: the fetch does happen
    allowed = verify_pdf(document, VerificationSettings(
        [pki.root.asn1], online=True, fetchers=http_fetchers(lambda _a: True)))  # fmt: skip
    assert allowed.indication == "TOTAL_PASSED", allowed.reasons
    assert crl_server.requests == ["/root.crl"]


FIRST_HOP = ipaddress.ip_address("127.0.0.2")


def _first_hop_only(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """Stands in for a public address: 127.0.0.2 plays the public server, nothing else is."""
    return address == FIRST_HOP or is_public(address)


@pytest.mark.parametrize("target", ["literal", "name", "file"])
def test_a_redirect_from_a_public_server_to_loopback_is_refused(
    recorders: list[Recorder], tmp_path: Path, target: str
) -> None:
    inside = Recorder("127.0.0.1").start()
    recorders.append(inside)
    where = {"literal": inside.url, "name": inside.url.replace("127.0.0.1", "localhost"),
             "file": "file:///etc/passwd"}[target]  # fmt: skip
    public = Recorder(str(FIRST_HOP), redirect=where).start()
    recorders.append(public)
    pki, document = _signed_naming(public.url, tmp_path)
    inside.body = pki.crl(NOW)
    report = verify_pdf(document, VerificationSettings(
        [pki.root.asn1], online=True, fetchers=http_fetchers(_first_hop_only)))  # fmt: skip
    assert report.indication == "INDETERMINATE"
    assert public.requests, "the first hop was fetched"
    assert inside.requests == [], "the redirect target never was"


def test_an_answer_larger_than_the_cap_is_not_read(
    recorders: list[Recorder], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    big = Recorder("127.0.0.1", body=b"0" * (MAX_RESPONSE_BYTES + 1)).start()
    recorders.append(big)
    pki, document = _signed_naming(big.url, tmp_path)
    with caplog.at_level(logging.WARNING, logger="kyso.outbound"):
        report = verify_pdf(document, VerificationSettings(
            [pki.root.asn1], online=True, fetchers=http_fetchers(lambda _a: True)))  # fmt: skip
    assert report.indication == "INDETERMINATE"
    assert big.requests == ["/root.crl"]
    assert f"an answer of {MAX_RESPONSE_BYTES + 1} bytes" in caplog.text
