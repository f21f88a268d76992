"""A portal signs through the CSC API v2 without ever seeing a password or a PIN: Authlib's
OAuth 2.0 client runs the code flow (PKCE S256, scope ``credential`` bound to two hashes)
against a running kyso; the citizen signs in and types the PIN on kyso's pages in Chromium;
pyHanko then finishes two PDFs with the signatures ``signatures/signHash`` returns for the
token, and pdfsig, qpdf, openssl and pyHanko's validator accept them."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import html
import io
import json
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from asn1crypto import algos, cms
from asn1crypto import x509 as asn1_x509
from authlib.common.security import generate_token
from authlib.integrations.requests_client import OAuth2Session
from playwright.sync_api import Browser, Page, Request
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.sign.fields import SigSeedSubFilter
from pyhanko.sign.signers import ExternalSigner, PdfSignatureMetadata, PdfSigner
from pyhanko.sign.signers.pdf_byterange import PreparedByteRangeDigest
from pyhanko.sign.signers.pdf_signer import PdfTBSDocument, PostSignInstructions
from pyhanko_certvalidator.registry import SimpleCertificateStore

from tests.e2e.signing_helpers import PIN, Signer, make_signers
from tests.support.api import enrol_otp
from tests.support.browser import chromium, screenshot
from tests.support.pdfs import simple_pdf
from tests.support.pki import PkiFiles
from tests.support.server import KysoServer
from tests.support.snapshot import table_records
from tests.support.validate import judge_signed_pdf
from tests.support.web import WebClient

PORTAL = "https://dichvucong.example.vn/csc/callback"
SHA256 = "2.16.840.1.101.3.4.2.1"
ECDSA_SHA256 = "1.2.840.10045.4.3.2"


@dataclass
class Portal:
    client_id: str
    client_secret: str


def _portal(server: KysoServer, scopes: str = "openid service credential") -> Portal:
    created = json.loads(
        server.cli("admin", "oidc-client", "add", "--name", "Cổng dịch vụ công tỉnh",
                   "--redirect-uri", PORTAL, "--scopes", scopes).stdout
    )  # fmt: skip
    return Portal(created["client_id"], created["client_secret"])


def _session(server: KysoServer, portal: Portal, scope: str) -> OAuth2Session:
    return OAuth2Session(
        portal.client_id,
        portal.client_secret,
        scope=scope,
        redirect_uri=PORTAL,
        code_challenge_method="S256",
        token_endpoint_auth_method="client_secret_basic",
    )


def _b64url(digest: bytes) -> str:
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


# --- pyHanko: the document digests first, the signatures later (interrupted signing) --------


@dataclass
class Prepared:
    digest: PreparedByteRangeDigest
    signed_attrs: cms.CMSAttributes
    instructions: PostSignInstructions | None
    output: IO[bytes]

    @property
    def to_sign(self) -> bytes:
        """What signHash signs: the SHA-256 of the DER signed attributes."""
        return hashlib.sha256(self.signed_attrs.dump()).digest()


def _external(chain: list[asn1_x509.Certificate], value: bytes | int) -> ExternalSigner:
    return ExternalSigner(
        chain[0],
        SimpleCertificateStore.from_certs(chain[1:]),
        signature_value=value,
        signature_mechanism=algos.SignedDigestAlgorithm({"algorithm": "sha256_ecdsa"}),
    )


async def _prepare(pdf: bytes, chain: list[asn1_x509.Certificate]) -> Prepared:
    signer = _external(chain, 80)
    meta = PdfSignatureMetadata(field_name="Signature1", subfilter=SigSeedSubFilter.PADES,
                                md_algorithm="sha256")  # fmt: skip
    digest, tbs, output = await PdfSigner(meta, signer).async_digest_doc_for_signing(
        IncrementalPdfFileWriter(io.BytesIO(pdf)), bytes_reserved=16384
    )
    attrs = await signer.signed_attrs(digest.document_digest, "sha256", use_pades=True)
    return Prepared(digest, attrs, tbs.post_sign_instructions, output)


async def _finish(prepared: Prepared, chain: list[asn1_x509.Certificate], value: bytes) -> bytes:
    signer = _external(chain, value)
    signed = await signer.async_sign_prescribed_attributes("sha256", prepared.signed_attrs)
    await PdfTBSDocument.async_finish_signing(prepared.output, prepared.digest, signed,
                                              post_sign_instr=prepared.instructions)  # fmt: skip
    prepared.output.seek(0)
    return prepared.output.read()


def _chain(server: KysoServer, signer: Signer) -> list[asn1_x509.Certificate]:
    info = httpx.post(
        f"{server.url}/csc/v2/credentials/info",
        json={"credentialID": signer.credential_id, "certificates": "chain"},
        headers={"Authorization": f"Bearer {signer.account.access_token}"},
    ).json()
    return [asn1_x509.Certificate.load(base64.b64decode(c)) for c in info["cert"]["certificates"]]


# --- the citizen's browser -------------------------------------------------------------------


class Citizen:
    """Chromium as the citizen on kyso's pages; the address of the portal's callback (on a
    host this machine cannot reach: the request is seen, its page does not load) is kept."""

    def __init__(self, browser: Browser, signer: Signer) -> None:
        self.context = browser.new_context(viewport={"width": 390, "height": 844})  # a phone
        self.page: Page = self.context.new_page()
        self.signer = signer
        self.caught: list[str] = []
        self.context.on("request", self._seen)

    def _seen(self, request: Request) -> None:
        if request.url.startswith(PORTAL):
            self.caught.append(request.url)

    def open(self, url: str) -> None:
        """In a new tab (the last one is left on the portal's unreachable page)."""
        self.page = self.context.new_page()
        self.page.goto(url)
        if "/login" in self.page.url:
            self.page.fill("#email", self.signer.account.email)
            self.page.fill("#password", self.signer.account.password)
            self.page.click("form[action='/login'] button[type=submit]")
            self.page.wait_for_load_state()
            assert "/login" not in self.page.url, self.page.content()

    def answer(self, decision: str, pin: str | None = None) -> str:
        """Allow (with the PIN) or decline: the portal address the browser lands on."""
        if pin is not None:
            self.page.fill("#pin", pin)
        before = len(self.caught)
        self.page.click(f"button[value={decision}]")
        self.page.wait_for_load_state()
        if self.caught[before:] == [] and "/csc/v2/oauth2/authorize" not in self.page.url:
            self.page.wait_for_event("request", timeout=5000)
        return self.caught[before] if len(self.caught) > before else ""


def _code(callback: str) -> dict[str, list[str]]:
    return parse_qs(urlsplit(callback).query)


def _token_post(server: KysoServer, portal: Portal, **form: str) -> httpx.Response:
    return httpx.post(f"{server.url}/csc/v2/oauth2/token", data=form,
                      auth=(portal.client_id, portal.client_secret))  # fmt: skip


def _sign_hash(
    server: KysoServer, token: str, credential_id: str, digests: list[bytes]
) -> httpx.Response:
    return httpx.post(
        f"{server.url}/csc/v2/signatures/signHash",
        json={"credentialID": credential_id, "hashes": [base64.b64encode(d).decode() for d in digests],
              "hashAlgorithmOID": SHA256, "signAlgo": ECDSA_SHA256},
        headers={"Authorization": f"Bearer {token}"},
        timeout=60,
    )  # fmt: skip


def _hash_charges(server: KysoServer, signer: Signer) -> list[int]:
    return [
        int(e["amount"])
        for e in table_records(server.database_url, "usage_event")
        if e["user_id"] == signer.account.id and e["product"] == "signature.hash"
    ]


def test_authlib_code_flow_binds_a_token_to_two_hashes_and_pyhanko_signs_with_it(
    server: KysoServer, pki: PkiFiles, tmp_path: Path
) -> None:
    portal = _portal(server)
    alice, bob = make_signers(server, count=2)
    chain = _chain(server, alice)
    documents = [simple_pdf(text=f"tờ khai {n}") for n in (1, 2)]
    prepared = [asyncio.run(_prepare(pdf, chain)) for pdf in documents]
    digests = [p.to_sign for p in prepared]

    rp = _session(server, portal, "credential")
    verifier = generate_token(48)
    url, state = rp.create_authorization_url(
        f"{server.url}/csc/v2/oauth2/authorize", code_verifier=verifier,
        credentialID=alice.credential_id, numSignatures="2",
        hashes=",".join(_b64url(d) for d in digests), hashAlgorithmOID=SHA256,
    )  # fmt: skip
    with chromium() as browser:  # closed before pyHanko's event loop runs again
        citizen = Citizen(browser, alice)
        citizen.open(url)
        page = citizen.page
        assert page.url.startswith(f"{server.url}/csc/v2/oauth2/authorize")
        assert page.text_content("#portal-name") == "Cổng dịch vụ công tỉnh"
        assert page.text_content("#hash-count") == "2"
        assert page.evaluate("document.documentElement.scrollWidth") <= 390  # no sideways scroll
        screenshot(page, "csc-oauth2-authorize")
        wrong = citizen.answer("approve", pin="000000")
        assert wrong == ""
        assert "PIN" in (page.text_content("[role=alert]") or "")
        callback = citizen.answer("approve", pin=PIN)
        assert callback, page.content()
    assert _code(callback).get("state") == [state], (callback, url)
    code = _code(callback)["code"][0]

    # the code: bound to its verifier and redirect URI; another client gets nothing
    bad = _token_post(server, portal, grant_type="authorization_code", code=code,
                      redirect_uri=PORTAL, code_verifier=generate_token(48))  # fmt: skip
    assert (bad.status_code, bad.json()["error"]) == (400, "invalid_grant")
    bad = _token_post(server, portal, grant_type="authorization_code", code=code,
                      redirect_uri=PORTAL + "/other", code_verifier=verifier)  # fmt: skip
    assert (bad.status_code, bad.json()["error"]) == (400, "invalid_grant")
    stranger = httpx.post(f"{server.url}/csc/v2/oauth2/token", auth=("kyso-unknown", "x"),
                          data={"grant_type": "authorization_code", "code": code,
                                "redirect_uri": PORTAL, "code_verifier": verifier})  # fmt: skip
    assert (stranger.status_code, stranger.json()["error"]) == (401, "invalid_client")

    token = rp.fetch_token(f"{server.url}/csc/v2/oauth2/token", authorization_response=callback,
                           code_verifier=verifier)  # fmt: skip
    assert (token["scope"], token["credentialID"]) == ("credential", alice.credential_id)
    access = token["access_token"]

    third = hashlib.sha256(b"mot tai lieu khac").digest()
    refused = _sign_hash(server, access, alice.credential_id, [*digests, third])
    assert refused.status_code in (400, 403), refused.text
    refused = _sign_hash(server, access, bob.credential_id, digests)
    assert refused.status_code in (400, 403), refused.text
    signed = _sign_hash(server, access, alice.credential_id, digests)
    assert signed.status_code == 200, signed.text
    values = [base64.b64decode(v) for v in signed.json()["signatures"]]
    second = _sign_hash(server, access, alice.credential_id, digests[:1])
    assert second.status_code in (400, 403), second.text
    assert _hash_charges(server, alice) == [4_000, 4_000]
    assert _hash_charges(server, bob) == []
    again = _token_post(server, portal, grant_type="authorization_code", code=code,
                        redirect_uri=PORTAL, code_verifier=verifier)  # fmt: skip
    assert (again.status_code, again.json()["error"]) == (400, "invalid_grant")
    gone = _sign_hash(server, access, alice.credential_id, digests)  # a replayed code ends it
    assert (gone.status_code, gone.json()["error"]) == (401, "invalid_token")

    for number, (ready, value) in enumerate(zip(prepared, values, strict=True)):
        path = tmp_path / f"oauth2-{number}.pdf"
        path.write_bytes(asyncio.run(_finish(ready, chain, value)))
        judge_signed_pdf(path, pki.root, "B-B", 1, tmp_path)


def test_service_scope_lists_credentials_and_a_declined_request_signs_nothing(
    server: KysoServer,
) -> None:
    portal = _portal(server)
    (alice,) = make_signers(server, count=1)
    rp = _session(server, portal, "service")
    verifier = generate_token(48)
    url, _ = rp.create_authorization_url(f"{server.url}/csc/v2/oauth2/authorize",
                                         code_verifier=verifier)  # fmt: skip
    digest = hashlib.sha256(b"don").digest()
    declined, _ = _session(server, portal, "credential").create_authorization_url(
        f"{server.url}/csc/v2/oauth2/authorize", code_verifier=generate_token(48),
        credentialID=alice.credential_id, numSignatures="1", hashes=_b64url(digest),
        hashAlgorithmOID=SHA256,
    )  # fmt: skip
    with chromium() as browser:
        citizen = Citizen(browser, alice)
        citizen.open(url)
        callback = citizen.answer("approve")
        citizen.open(declined)
        refusal = citizen.answer("decline")
    assert _code(refusal)["error"] == ["access_denied"]
    token = rp.fetch_token(f"{server.url}/csc/v2/oauth2/token", authorization_response=callback,
                           code_verifier=verifier)  # fmt: skip
    headers = {"Authorization": f"Bearer {token['access_token']}"}
    listed = httpx.post(f"{server.url}/csc/v2/credentials/list", json={}, headers=headers)
    assert listed.json()["credentialIDs"] == [alice.credential_id]
    info = httpx.post(f"{server.url}/csc/v2/credentials/info", headers=headers,
                      json={"credentialID": alice.credential_id}).json()  # fmt: skip
    assert info["auth"] == {"mode": "oauth2code"}
    refused = httpx.post(f"{server.url}/csc/v2/credentials/authorize", headers=headers,
                         json={"credentialID": alice.credential_id, "PIN": PIN,
                               "hashes": [base64.b64encode(digest).decode()]})  # fmt: skip
    assert refused.status_code == 403
    revoked = httpx.post(f"{server.url}/csc/v2/oauth2/revoke",
                         data={"token": token["access_token"]},
                         auth=(portal.client_id, portal.client_secret))  # fmt: skip
    assert revoked.status_code == 200
    after = httpx.post(f"{server.url}/csc/v2/credentials/list", json={}, headers=headers)
    assert (after.status_code, after.json()["error"]) == (401, "invalid_token")
    assert _hash_charges(server, alice) == []


def _signed_in(server: KysoServer, signer: Signer) -> WebClient:
    web = WebClient(server)
    web.sign_in(signer.account.email, signer.account.password)
    return web


def _query(client_id: str, **extra: str) -> dict[str, str]:
    return {
        "response_type": "code", "client_id": client_id, "redirect_uri": PORTAL,
        "scope": "service", "code_challenge": _b64url(hashlib.sha256(b"v" * 43).digest()),
        "code_challenge_method": "S256", **extra,
    }  # fmt: skip


def test_info_advertises_oauth2code_and_unregistered_or_unpermitted_portals_are_refused(
    server: KysoServer,
) -> None:
    info = httpx.post(f"{server.url}/csc/v2/info", json={}).json()
    assert "oauth2code" in info["authType"]
    assert info["oauth2"] == f"{server.url}/csc/v2"
    assert httpx.post(f"{server.url}/csc/v1/info", json={}).json()["authType"] == ["external"]
    plain = _portal(server, scopes="openid profile")  # a sign-in portal, not a signing one
    (signer,) = make_signers(server, count=1, funds=0)
    web = _signed_in(server, signer)
    for client_id in ("kyso-unregistered", plain.client_id):
        page = web.http.get("/csc/v2/oauth2/authorize", params=_query(client_id))
        assert page.status_code == 400, page.text
        assert "location" not in page.headers  # never sent on to an unverified address
    mismatch = {**_query(_portal(server).client_id), "redirect_uri": PORTAL + "/elsewhere"}
    page = web.http.get("/csc/v2/oauth2/authorize", params=mismatch)
    assert page.status_code == 400
    assert "location" not in page.headers


@pytest.mark.parametrize("missing", ["code_challenge", "code_challenge_method"])
def test_pkce_is_required(server: KysoServer, missing: str) -> None:
    portal = _portal(server)
    (signer,) = make_signers(server, count=1, funds=0)
    query = _query(portal.client_id, state="s1")
    del query[missing]
    answer = _signed_in(server, signer).http.get("/csc/v2/oauth2/authorize", params=query)
    assert answer.status_code == 303
    sent = _code(answer.headers["location"])
    assert (sent["error"], sent["state"]) == (["invalid_request"], ["s1"])


def test_a_citizen_with_a_one_time_code_app_types_it_with_the_pin(server: KysoServer) -> None:
    portal = _portal(server)
    (signer,) = make_signers(server, count=1)
    web = _signed_in(server, signer)  # then the app is enrolled: each code counts once
    totp = enrol_otp(signer.account)
    digest = hashlib.sha256(b"to khai").digest()
    query = _query(portal.client_id, scope="credential", credentialID=signer.credential_id,
                   numSignatures="1", hashes=_b64url(digest), hashAlgorithmOID=SHA256,
                   code_challenge=_b64url(hashlib.sha256(b"v" * 43).digest()))  # fmt: skip
    page = web.http.get("/csc/v2/oauth2/authorize", params=query)
    assert 'name="otp"' in page.text
    fields = dict(re.findall(r'name="(csrf|query)" value="([^"]+)"', page.text))
    fields["query"] = html.unescape(fields["query"])
    without = web.http.post("/csc/v2/oauth2/authorize",
                            data={**fields, "decision": "approve", "pin": PIN})  # fmt: skip
    assert without.status_code == 400
    assert "location" not in without.headers
    allowed = web.http.post("/csc/v2/oauth2/authorize",
                            data={**fields, "decision": "approve", "pin": PIN,
                                  "otp": totp.at(time.time() + 30)})  # fmt: skip
    assert allowed.status_code == 303, allowed.text
    assert "code=" in allowed.headers["location"]
