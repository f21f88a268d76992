"""kyso with its keys on a PKCS#11 token (SoftHSM2), judged by tools we did not write.

The focused PKCS#11 set (the whole suite runs on the file key store): what OpenSC's pkcs11-tool
sees on the token, no clear key at rest, signatures at every level through pdfsig, qpdf, openssl
cms and pyHanko, openssl ocsp and ts against the token-held responders, two processes on one
token, and the token taken away and given back. PostgreSQL only: several processes share it.
"""

from __future__ import annotations

import json
import re
import tarfile
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path

import httpx
import pytest

from certs.custody import SoftwareCustody
from certs.errors import KeyStoreError
from certs.masterkey import load_master_key
from certs.pkcs11_store import PIN_BINDING_KEY, WRAPPING_KEY, TokenCustody
from certs.pkcs11_token import Pkcs11Token, TokenConfig
from certs.protected_keys import ProtectedKeyVault
from tests.e2e.signing_helpers import PIN, Signer, make_signers, sign, usage
from tests.support.databases import fresh_database
from tests.support.pdfs import simple_pdf
from tests.support.pki import PkiFiles, fetch_crl, fetch_pki_files, issue_with_csr, openssl
from tests.support.server import KysoServer, free_port
from tests.support.snapshot import all_stored_bytes, table_records
from tests.support.softhsm import USER_PIN, SoftHsm, Token
from tests.support.validate import judge_signed_pdf

_CLEAR_KEY_MARKS = (
    rb"PRIVATE KEY-----",
    bytes.fromhex("020100301306072a8648ce3d0201"),  # PKCS#8 of an EC key: version 0, ecPublicKey
    bytes.fromhex("020100300d06092a864886f70d0101010500"),  # PKCS#8 of an RSA key
    bytes.fromhex("30770201010420"),  # SEC1 ECPrivateKey of P-256: version 1, 32-byte scalar
)


@pytest.fixture(scope="module")
def token(softhsm: SoftHsm) -> Token:
    return softhsm.init_token()


@pytest.fixture(scope="module")
def hsm_server(token: Token, tmp_path_factory: pytest.TempPathFactory) -> Iterator[KysoServer]:
    directory = tmp_path_factory.mktemp("pkcs11-server")
    with fresh_database("postgresql", directory) as url:
        port = free_port()
        env = {**token.kyso_env(), "KYSO_PUBLIC_URL": f"http://127.0.0.1:{port}"}
        server = KysoServer(data_dir=directory / "kyso-data", database_url=url, port=port,
                            extra_env=env).start()  # fmt: skip
        try:
            yield server
        finally:
            server.stop()


@pytest.fixture(scope="module")
def hsm_pki(hsm_server: KysoServer, tmp_path_factory: pytest.TempPathFactory) -> PkiFiles:
    return fetch_pki_files(hsm_server.url, tmp_path_factory.mktemp("pkcs11-pki"))


@pytest.fixture(scope="module")
def hsm_signers(hsm_server: KysoServer) -> list[Signer]:
    return make_signers(hsm_server)


def _private_key_objects(token: Token) -> dict[str, str]:
    """label -> the Access line of every private-key object pkcs11-tool lists."""
    listing = token.pkcs11_tool("--list-objects", "--type", "privkey")
    objects = {}
    for block in re.split(r"^Private Key Object", listing, flags=re.M)[1:]:
        label = re.search(r"^\s+label:\s+(\S+)", block, flags=re.M)
        access = re.search(r"^\s+Access:\s+(.*)$", block, flags=re.M)
        assert label, block
        assert access, block
        objects[label.group(1)] = access.group(1)
    return objects


def test_pkcs11_tool_lists_ca_ocsp_tsa_and_token_keys_sensitive_never_extractable(
    hsm_server: KysoServer, hsm_signers: list[Signer], token: Token
) -> None:
    ca_keys = {row["role"]: row["key_id"] for row in table_records(hsm_server.database_url,
                                                                  "ca_certificate")}  # fmt: skip
    token_keys = [row["key_id"] for row in table_records(hsm_server.database_url,
                                                         "token_signing_key")]  # fmt: skip
    assert set(ca_keys) == {"root", "issuing", "ocsp", "tsa"}
    assert token_keys  # made at the first sign-in, in the token
    objects = _private_key_objects(token)
    for label in [*ca_keys.values(), *token_keys]:
        access = objects[label]
        flags = [flag.strip() for flag in access.split(",")]
        assert "sensitive" in flags, (label, access)  # CKA_SENSITIVE true
        assert "never extractable" in flags, (label, access)
        assert "extractable" not in flags, (label, access)  # CKA_EXTRACTABLE false
    secret_keys = token.pkcs11_tool("--list-objects", "--type", "secrkey")
    assert WRAPPING_KEY in secret_keys
    assert PIN_BINDING_KEY in secret_keys
    # citizens' keys are not token objects: they are kept outside, wrapped
    credentials = table_records(hsm_server.database_url, "credential")
    assert credentials
    assert not any(f"credential-{c['id']}" in objects for c in credentials)


def test_no_private_key_in_clear_in_database_data_directory_or_log(
    hsm_server: KysoServer, hsm_signers: list[Signer], token: Token
) -> None:
    signed = sign(hsm_signers[0], simple_pdf(), level="B-T")
    assert signed.status_code == 200, signed.text
    data_dir = hsm_server.data_dir
    assert not (data_dir / "keys").exists() or not any((data_dir / "keys").iterdir())
    master_file = (data_dir / "master.key").read_bytes()
    stored = [*all_stored_bytes(hsm_server.database_url, data_dir), hsm_server.log().encode()]
    for blob in stored:
        if blob == master_file:
            continue
        for mark in _CLEAR_KEY_MARKS:
            assert mark not in blob, mark

    # What a thief holding the database and the master key gets: a sealed blob that no PIN
    # opens without the token; with the token (and the PIN), only a token-wrapped key.
    credential = table_records(hsm_server.database_url, "credential")[0]
    name = f"credential-{credential['id']}"
    master_key = load_master_key(env_value=None, path=data_dir / "master.key")
    with pytest.raises(KeyStoreError, match="pkcs11 custody"):
        ProtectedKeyVault(master_key, SoftwareCustody()).open(name, credential["sealed_by_pin"],
                                                              PIN.encode())  # fmt: skip
    connection = Pkcs11Token.shared(TokenConfig(module=token.hsm.module, label=token.label,
                                                pin=USER_PIN))  # fmt: skip
    vault = ProtectedKeyVault(master_key, TokenCustody(connection))
    inner = json.loads(vault._open_der(name, credential["sealed_by_pin"], PIN.encode()))
    assert inner["format"] == "kyso-token-wrapped-v1"
    assert all(mark not in json.dumps(inner).encode() for mark in _CLEAR_KEY_MARKS)


@pytest.mark.parametrize("level", ["B-B", "B-T", "B-LT", "B-LTA"])
def test_token_signatures_validate_in_pdfsig_qpdf_openssl_and_pyhanko(
    hsm_signers: list[Signer], hsm_pki: PkiFiles, level: str, workdir: Path
) -> None:
    first = sign(hsm_signers[0], simple_pdf(2), level=level, reason="Nộp hồ sơ")
    assert first.status_code == 200, first.text
    one = workdir / "one.pdf"
    one.write_bytes(first.content)
    judge_signed_pdf(one, hsm_pki.root, level, 1, workdir)
    second = sign(hsm_signers[1], first.content, level=level, filename="one.pdf")
    assert second.status_code == 200, second.text
    two = workdir / "two.pdf"
    two.write_bytes(second.content)
    judge_signed_pdf(two, hsm_pki.root, level, 2, workdir)


def test_openssl_ocsp_and_ts_accept_the_token_held_responders(
    hsm_server: KysoServer, hsm_pki: PkiFiles, workdir: Path
) -> None:
    issued = issue_with_csr(hsm_server, workdir)
    crl = fetch_crl(hsm_server.url, workdir / "issuing.crl")
    verified = openssl("verify", "-crl_check", "-CAfile", str(hsm_pki.root), "-untrusted",
                       str(hsm_pki.issuing), "-CRLfile", str(crl), str(issued.certificate))  # fmt: skip
    assert f"{issued.certificate}: OK" in verified.stdout.decode()
    answered = openssl("ocsp", "-url", f"{hsm_server.url}/pki/ocsp", "-issuer",
                       str(hsm_pki.issuing), "-cert", str(issued.certificate), "-CAfile",
                       str(hsm_pki.root), check=False)  # fmt: skip
    text = (answered.stdout + answered.stderr).decode()
    assert "Response verify OK" in text, text
    assert f"{issued.certificate}: good" in text

    data = workdir / "to-khai.txt"
    data.write_text("Tờ khai thuế\n")
    query = workdir / "q.tsq"
    openssl("ts", "-query", "-data", str(data), "-sha256", "-cert", "-out", str(query))
    reply = httpx.post(f"{hsm_server.url}/pki/tsa", content=query.read_bytes(),
                       headers={"Content-Type": "application/timestamp-query"})  # fmt: skip
    assert reply.status_code == 200
    (workdir / "r.tsr").write_bytes(reply.content)
    checked = openssl("ts", "-verify", "-data", str(data), "-in", str(workdir / "r.tsr"),
                      "-CAfile", str(hsm_pki.root), "-untrusted", str(hsm_pki.issuing),
                      check=False)  # fmt: skip
    assert "Verification: OK" in checked.stdout.decode(), checked.stderr.decode()


def test_two_processes_sign_on_one_token_at_once(
    hsm_server: KysoServer, hsm_signers: list[Signer], hsm_pki: PkiFiles, workdir: Path
) -> None:
    second = replace(hsm_server, port=free_port(), process=None).start()
    try:
        urls = [hsm_server.url, second.url]
        jobs = [(urls[i % 2], hsm_signers[i % 2], i) for i in range(12)]

        def one(job: tuple[str, Signer, int]) -> httpx.Response:
            url, signer, n = job
            return httpx.post(f"{url}/v1/signatures",
                              headers={"Authorization": f"Bearer {signer.account.access_token}"},
                              files={"file": ("don.pdf", simple_pdf(text=f"doc {n}"),
                                              "application/pdf")},
                              data={"pin": PIN, "level": "B-T", "invisible": "true"},
                              timeout=120)  # fmt: skip

        with ThreadPoolExecutor(max_workers=len(jobs)) as pool:
            answers = list(pool.map(one, jobs))
        assert [a.status_code for a in answers] == [200] * len(jobs), [a.text for a in answers]
        for n in (0, 1):  # one from each process, each judged on its own
            document = workdir / f"both-{n}.pdf"
            document.write_bytes(answers[n].content)
            judge_signed_pdf(document, hsm_pki.root, "B-T", 1, workdir)
    finally:
        second.stop()


def test_token_removed_gives_503_with_code_and_no_charge_then_signing_resumes(
    hsm_server: KysoServer, hsm_signers: list[Signer], hsm_pki: PkiFiles, token: Token,
    workdir: Path,
) -> None:  # fmt: skip
    signer = hsm_signers[0]
    before_usage = len(usage(signer))
    before_balance = signer.account.client.get("/v1/me/wallet").json()["balance"]
    token.remove()
    try:
        refused = sign(signer, simple_pdf(), level="B-T", key="while-away")
        assert refused.status_code == 503, refused.text
        assert refused.headers["content-type"].startswith("application/problem+json")
        assert refused.json()["code"] == "certs.token_unavailable"
        assert refused.headers["Retry-After"] == "1"
        ocsp_request = workdir / "req.der"
        openssl("ocsp", "-issuer", str(hsm_pki.issuing), "-serial", "0x1234", "-no_nonce",
                "-reqout", str(ocsp_request))  # fmt: skip
        answer = httpx.post(f"{hsm_server.url}/pki/ocsp", content=ocsp_request.read_bytes(),
                            headers={"Content-Type": "application/ocsp-request"})  # fmt: skip
        assert answer.content == bytes.fromhex("30030a0103")  # OCSPResponse tryLater
    finally:
        token.restore()
    assert len(usage(signer)) == before_usage
    assert signer.account.client.get("/v1/me/wallet").json()["balance"] == before_balance
    resumed = None
    for _ in range(50):  # the process retries the token after its short back-off
        resumed = sign(signer, simple_pdf(), level="B-T", key="after-return")
        if resumed.status_code != 503:
            break
        threading.Event().wait(0.2)
    assert resumed is not None
    assert resumed.status_code == 200, resumed.text
    assert len(usage(signer)) == before_usage + 1


def test_a_backup_of_a_token_instance_names_the_token_keys_and_holds_no_key_file(
    hsm_server: KysoServer, tmp_path: Path
) -> None:
    """With PKCS#11 the backup copies no key: it lists the token's labels for the restore to
    check, and the HSM's own backup holds the keys."""
    out = tmp_path / "kyso.backup"
    hsm_server.cli("admin", "backup", "--out", str(out))
    with tarfile.open(out) as archive:
        names = archive.getnames()
        manifest = json.loads(archive.extractfile("manifest.json").read())  # type: ignore[union-attr]
    assert not [n for n in names if n.startswith("keys/")]
    kept = manifest["key_store"]
    assert kept["store"] == "pkcs11"
    assert kept["sealed"] == []
    assert set(kept["named_by_database"]) <= set(kept["held_elsewhere"])
    assert {WRAPPING_KEY, PIN_BINDING_KEY} <= set(kept["held_elsewhere"])
