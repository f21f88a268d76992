"""Remote-signing clients through the CSC API: pyHanko's own CSCSigner signs PDFs through
/csc/v1 over real HTTP, each hash charged once; SADs are single-use, bound and expiring."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import io
import json
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import aiohttp
import httpx
import pytest
from asn1crypto import pem
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import Prehashed
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.sign.fields import SigSeedSubFilter
from pyhanko.sign.signers import PdfSignatureMetadata, PdfSigner
from pyhanko.sign.signers.csc_signer import (
    CSCAuthorizationInfo,
    CSCAuthorizationManager,
    CSCCredentialInfo,
    CSCServiceSessionInfo,
    CSCSigner,
    fetch_certs_in_csc_credential,
)

from tests.e2e.signing_helpers import PIN, Signer, make_signers
from tests.support.databases import fresh_database
from tests.support.pdfs import simple_pdf
from tests.support.pki import PkiFiles
from tests.support.server import KysoServer
from tests.support.snapshot import table_records
from tests.support.validate import pdfsig_report, pyhanko_verdicts


class PinAuthorization(CSCAuthorizationManager):
    """Asks credentials/authorize for a SAD bound to the hashes, with the citizen's PIN."""

    def __init__(
        self,
        info: CSCServiceSessionInfo,
        credential: CSCCredentialInfo,
        http: aiohttp.ClientSession,
        pin: str,
    ) -> None:
        super().__init__(info, credential)
        self.http, self.pin, self.sads = http, pin, []  # type: ignore[var-annotated]

    async def authorize_signature(self, hash_b64s: list[str]) -> CSCAuthorizationInfo:
        body = self.format_csc_auth_request(pin=self.pin, hash_b64s=hash_b64s)
        url = self.csc_session_info.endpoint_url("credentials/authorize")
        async with self.http.post(
            url, json=body, headers=self.auth_headers, raise_for_status=True
        ) as response:
            data = await response.json()
        self.sads.append(data["SAD"])
        return self.parse_csc_auth_response(data)


def csc_sign(server: KysoServer, signer: Signer, documents: list[bytes]) -> tuple[list[bytes], int]:
    """The documents signed by pyHanko's CSCSigner in one batch (one SAD for all)."""

    async def run() -> tuple[list[bytes], int]:
        async with aiohttp.ClientSession() as http:
            info = CSCServiceSessionInfo(
                server.url, signer.credential_id, oauth_token=signer.account.access_token
            )
            credential = await fetch_certs_in_csc_credential(http, info)
            assert credential.hash_pinning_required  # SCAL 2
            auth = PinAuthorization(info, credential, http, PIN)
            csc = CSCSigner(http, auth, batch_size=len(documents))

            async def one(pdf: bytes) -> bytes:
                out = io.BytesIO()
                meta = PdfSignatureMetadata(
                    field_name="Signature1", subfilter=SigSeedSubFilter.PADES
                )
                await PdfSigner(meta, csc).async_sign_pdf(
                    IncrementalPdfFileWriter(io.BytesIO(pdf)), output=out
                )
                return out.getvalue()

            signed = await asyncio.gather(*(one(pdf) for pdf in documents))
            return list(signed), len(auth.sads)

    return asyncio.run(run())


def _root(pki: PkiFiles) -> asn1_x509.Certificate:
    _, _, der = pem.unarmor(pki.root.read_bytes())
    return asn1_x509.Certificate.load(der)


def _hash_charges(server: KysoServer, signer: Signer) -> list[int]:
    return [
        int(e["amount"])
        for e in table_records(server.database_url, "usage_event")
        if e["user_id"] == signer.account.id and e["product"] == "signature.hash"
    ]


def test_pyhankos_csc_signer_signs_through_csc_v1_and_each_hash_is_charged(
    server: KysoServer, pki: PkiFiles, tmp_path: Path
) -> None:
    (signer,) = make_signers(server, count=1)
    [document], sads = csc_sign(server, signer, [simple_pdf(text="tờ khai CSC")])
    assert sads == 1
    path = tmp_path / "csc.pdf"
    path.write_bytes(document)
    (seen,) = [s for s in pdfsig_report(path) if s.get("Signature Type") == "ETSI.CAdES.detached"]
    assert seen["Signature Validation"] == "Signature is Valid."
    (verdict,) = pyhanko_verdicts(path, _root(pki))
    assert (verdict.intact, verdict.valid, verdict.trusted) == (True, True, True)
    assert _hash_charges(server, signer) == [4_000]
    usage = signer.account.client.get("/v1/me/usage").json()["items"]
    assert (usage[0]["product"], usage[0]["amount"]) == ("signature.hash", 4_000)


def test_a_batch_of_documents_under_one_sad_is_charged_once_each(
    server: KysoServer, pki: PkiFiles, tmp_path: Path
) -> None:
    (signer,) = make_signers(server, count=1)
    documents = [simple_pdf(text=f"hồ sơ {n}") for n in range(3)]
    signed, sads = csc_sign(server, signer, documents)
    assert sads == 1, "one SAD for the whole batch"
    for number, data in enumerate(signed):
        path = tmp_path / f"batch-{number}.pdf"
        path.write_bytes(data)
        (verdict,) = pyhanko_verdicts(path, _root(pki))
        assert (verdict.intact, verdict.valid, verdict.trusted) == (True, True, True)
    assert _hash_charges(server, signer) == [4_000, 4_000, 4_000]


def _post(server: KysoServer, signer: Signer, path: str, body: dict[str, object]) -> httpx.Response:
    return httpx.post(
        f"{server.url}/csc/{path}",
        json=body,
        timeout=60,
        headers={"Authorization": f"Bearer {signer.account.access_token}"},
    )


def _authorize(
    server: KysoServer, signer: Signer, digests: list[bytes], *, pin: str = PIN, version: str = "v1"
) -> httpx.Response:
    field = "hash" if version == "v1" else "hashes"
    return _post(
        server,
        signer,
        f"{version}/credentials/authorize",
        {
            "credentialID": signer.credential_id,
            "numSignatures": len(digests),
            "PIN": pin,
            field: [base64.b64encode(d).decode() for d in digests],
        },
    )


def _sign(
    server: KysoServer,
    signer: Signer,
    sad: str,
    digests: list[bytes],
    credential_id: str | None = None,
) -> httpx.Response:
    return _post(
        server,
        signer,
        "v1/signatures/signHash",
        {
            "credentialID": credential_id or signer.credential_id,
            "SAD": sad,
            "hash": [base64.b64encode(d).decode() for d in digests],
            "hashAlgo": "2.16.840.1.101.3.4.2.1",
            "signAlgo": "1.2.840.10045.4.3.2",
        },
    )


def _error(response: httpx.Response) -> tuple[int, str]:
    return response.status_code, response.json()["error"]


def test_foreign_hash_foreign_credential_reuse_and_wrong_pin_are_refused(
    server: KysoServer,
) -> None:
    alice, bob = make_signers(server, count=2)
    digest, other = hashlib.sha256(b"don xin").digest(), hashlib.sha256(b"khac").digest()
    sad = _authorize(server, alice, [digest]).json()["SAD"]
    foreign_hash = _sign(server, alice, sad, [other])
    assert _error(foreign_hash) == (400, "invalid_request")
    assert "not authorised" in foreign_hash.json()["error_description"]
    foreign_credential = _sign(server, alice, sad, [digest], credential_id=bob.credential_id)
    assert _error(foreign_credential) == (400, "invalid_request")
    signed = _sign(server, alice, sad, [digest])
    assert signed.status_code == 200, signed.text
    (value,) = signed.json()["signatures"]
    certificate = x509.load_der_x509_certificate(
        base64.b64decode(
            _post(
                server,
                alice,
                "v1/credentials/info",
                {"credentialID": alice.credential_id, "certificates": "single"},
            ).json()["cert"]["certificates"][0]
        )
    )
    public = certificate.public_key()
    assert isinstance(public, ec.EllipticCurvePublicKey)
    public.verify(base64.b64decode(value), digest, ec.ECDSA(Prehashed(hashes.SHA256())))
    again = _sign(server, alice, sad, [digest, other])  # the spent SAD, another request
    assert _error(again) == (400, "invalid_request")
    assert "used already" in again.json()["error_description"]
    bobs_sad = _authorize(server, bob, [digest]).json()["SAD"]
    stolen = _sign(server, alice, bobs_sad, [digest], credential_id=bob.credential_id)
    assert _error(stolen) == (400, "invalid_request")
    wrong = _authorize(server, alice, [digest], pin="000000")
    assert _error(wrong) == (400, "invalid_pin")
    (row,) = [
        r
        for r in table_records(server.database_url, "credential")
        if r["id"] == alice.credential_id
    ]
    assert row["failed_pin_attempts"] == 1, "a wrong PIN counts toward the lock"
    assert _hash_charges(server, alice) == [4_000], "only the one signed hash was charged"
    assert _hash_charges(server, bob) == []


def test_without_money_nothing_is_signed_and_the_sad_survives(server: KysoServer) -> None:
    (signer,) = make_signers(server, count=1, funds=3_999)
    digest = hashlib.sha256(b"no money").digest()
    sad = _authorize(server, signer, [digest]).json()["SAD"]
    refused = _sign(server, signer, sad, [digest])
    assert _error(refused) == (402, "payment_required")
    assert _hash_charges(server, signer) == []


def test_csc_v2_names_and_extend_transaction(server: KysoServer) -> None:
    (signer,) = make_signers(server, count=1)
    info = _post(server, signer, "v2/info", {}).json()
    assert info["specs"] == "2.0.0.2"
    assert "credentials/extendTransaction" in info["methods"]
    listed = _post(server, signer, "v2/credentials/list", {}).json()
    assert listed["credentialIDs"] == [signer.credential_id]
    details = _post(
        server,
        signer,
        "v2/credentials/info",
        {"credentialID": signer.credential_id, "certificates": "chain"},
    ).json()
    assert (details["SCAL"], details["auth"]["mode"], details["multisign"]) == (
        "2",
        "explicit",
        100,
    )
    assert [o["id"] for o in details["auth"]["objects"]] == ["PIN"]
    assert details["key"]["algo"] == ["1.2.840.10045.4.3.2"]
    assert len(details["cert"]["certificates"]) == 3
    digests = [hashlib.sha256(b"v2 %d" % n).digest() for n in range(2)]
    sad = _authorize(server, signer, digests, version="v2").json()["SAD"]
    extended = _post(
        server,
        signer,
        "v2/credentials/extendTransaction",
        {"credentialID": signer.credential_id, "SAD": sad},
    )
    assert extended.status_code == 200, extended.text
    assert extended.json()["expiresIn"] > 0
    signed = _post(
        server,
        signer,
        "v2/signatures/signHash",
        {
            "credentialID": signer.credential_id,
            "SAD": sad,
            "hashes": [base64.b64encode(d).decode() for d in digests],
            "hashAlgorithmOID": "2.16.840.1.101.3.4.2.1",
            "signAlgo": "1.2.840.10045.4.3.2",
        },
    )
    assert signed.status_code == 200, signed.text
    assert len(signed.json()["signatures"]) == 2
    assert _hash_charges(server, signer) == [4_000, 4_000]
    anonymous = httpx.post(f"{server.url}/csc/v2/credentials/list", json={}, timeout=30)
    assert _error(anonymous) == (401, "invalid_token")


@pytest.fixture(scope="module")
def brief(backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[KysoServer]:
    """An installation whose SADs live one second."""
    directory = tmp_path_factory.mktemp(f"brief-sad-{backend}")
    with fresh_database(backend, directory) as url:
        running = KysoServer(
            data_dir=directory / "kyso-data",
            database_url=url,
            extra_env={"KYSO_SAD_LIFETIME_SECONDS": "1"},
        ).start()
        try:
            yield running
        finally:
            running.stop()


def test_an_expired_sad_is_refused(brief: KysoServer) -> None:
    (signer,) = make_signers(brief, count=1)
    digest = hashlib.sha256(b"late").digest()
    sad = _authorize(brief, signer, [digest]).json()["SAD"]
    time.sleep(1.5)
    late = _sign(brief, signer, sad, [digest])
    assert _error(late) == (400, "invalid_request")
    assert "expired" in late.json()["error_description"]


def test_a_sad_not_bound_to_hashes_cannot_sign_through_csc(server: KysoServer) -> None:
    (signer,) = make_signers(server, count=1)
    counted = signer.account.client.post(
        "/v1/me/authorisations",
        json={"credential_id": signer.credential_id, "pin": PIN, "count": 2},
    )
    assert counted.status_code == 201, counted.text
    refused = _sign(server, signer, counted.json()["sad"], [hashlib.sha256(b"any").digest()])
    assert _error(refused) == (400, "invalid_request")
    assert "not bound to hashes" in refused.json()["error_description"]
    assert _hash_charges(server, signer) == []


@pytest.mark.parametrize(
    "body",
    [
        [1, 2],
        "credentials",
        42,
        {"credentialID": "a\u0000b"},
        {"credentialID": 7},
        {
            "credentialID": "00000000-0000-0000-0000-000000000000",
            "SAD": "x\u0000.y",
            "hash": ["AAAA"],
            "signAlgo": "1.2.840.10045.4.3.2",
        },
    ],
)
def test_malformed_requests_get_csc_errors_never_500(server: KysoServer, body: object) -> None:
    (signer,) = make_signers(server, count=1, funds=0)
    for path in ("v1/credentials/info", "v1/signatures/signHash", "v2/credentials/authorize"):
        answer = httpx.post(
            f"{server.url}/csc/{path}",
            timeout=30,
            content=json.dumps(body),
            headers={
                "Content-Type": "application/json",
                "Authorization": f"Bearer {signer.account.access_token}",
            },
        )
        assert _error(answer) == (400, "invalid_request"), (path, answer.text)


def test_a_credential_locked_after_its_sad_was_issued_signs_nothing(server: KysoServer) -> None:
    (signer,) = make_signers(server, count=1)
    digest = hashlib.sha256(b"before the lock").digest()
    sad = _authorize(server, signer, [digest]).json()["SAD"]
    answers = [_authorize(server, signer, [digest], pin="000000") for _ in range(5)]
    assert [_error(a)[1] for a in answers] == ["invalid_pin"] * 4 + ["credential_locked"]
    refused = _sign(server, signer, sad, [digest])
    assert _error(refused) == (423, "credential_locked")
    assert _hash_charges(server, signer) == []


def test_a_batch_the_wallet_cannot_cover_is_refused_whole_with_its_price(
    server: KysoServer,
) -> None:
    (signer,) = make_signers(server, count=1, funds=8_000)
    digests = [hashlib.sha256(b"batch %d" % n).digest() for n in range(3)]
    sad = _authorize(server, signer, digests).json()["SAD"]
    refused = _sign(server, signer, sad, digests)
    assert _error(refused) == (402, "payment_required")
    assert "12,000 VND" in refused.json()["error_description"]
    assert "8,000 VND" in refused.json()["error_description"]
    assert _hash_charges(server, signer) == []
    unknown = _post(server, signer, "v1/signatures/signDoc", {})
    assert _error(unknown) == (404, "invalid_request")


@contextmanager
def _sent_and_never_read(
    server: KysoServer, signer: Signer, path: str, body: dict[str, object]
) -> Iterator[None]:
    """Send a CSC request over a raw connection and close it after the block without reading
    the answer, as a client whose network dropped the response. The connection stays open
    while the block waits for the server's work: closed at once, the server could see the
    close before its first read of the body and rightly never start (a client gone before
    its request was taken up), which is not this case."""
    payload = json.dumps(body).encode()
    request = (
        f"POST /csc/{path} HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\n"
        f"Authorization: Bearer {signer.account.access_token}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(payload)}\r\n"
        "Connection: close\r\n\r\n"
    ).encode() + payload
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as connection:
        connection.sendall(request)
        yield  # nothing read: the answer is lost


def test_a_sign_hash_repeated_after_a_dropped_response_gets_the_same_signatures_once_charged(
    server: KysoServer,
) -> None:
    (signer,) = make_signers(server, count=1)
    digests = [hashlib.sha256(b"mat ket noi %d" % n).digest() for n in range(2)]
    sad = _authorize(server, signer, digests).json()["SAD"]
    body = {
        "credentialID": signer.credential_id,
        "SAD": sad,
        "hash": [base64.b64encode(d).decode() for d in digests],
        "hashAlgo": "2.16.840.1.101.3.4.2.1",
        "signAlgo": "1.2.840.10045.4.3.2",
    }
    with _sent_and_never_read(server, signer, "v1/signatures/signHash", body):
        deadline = time.monotonic() + 30
        while _hash_charges(server, signer) != [4_000, 4_000]:  # the server signed, charged
            assert time.monotonic() < deadline, "the dropped request was never signed"
            time.sleep(0.1)
    retry = _post(server, signer, "v1/signatures/signHash", body)
    assert retry.status_code == 200, retry.text
    values = [base64.b64decode(v) for v in retry.json()["signatures"]]
    (attempt,) = [
        a for a in table_records(server.database_url, "signing_attempt")
        if a["user_id"] == signer.account.id and a["kind"] == "hashes"
    ]  # fmt: skip
    assert json.loads(str(attempt["result"])) == retry.json()["signatures"]  # the first answer
    certificate = x509.load_der_x509_certificate(
        base64.b64decode(
            _post(server, signer, "v1/credentials/info",
                  {"credentialID": signer.credential_id}).json()["cert"]["certificates"][0]
        )
    )  # fmt: skip
    public = certificate.public_key()
    assert isinstance(public, ec.EllipticCurvePublicKey)
    for value, digest in zip(values, digests, strict=True):
        public.verify(value, digest, ec.ECDSA(Prehashed(hashes.SHA256())))
    assert _post(server, signer, "v1/signatures/signHash", body).json() == retry.json()
    assert _hash_charges(server, signer) == [4_000, 4_000], "charged once"
