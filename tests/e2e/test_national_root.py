"""kyso's issuing CA certified by a "national root" that openssl makes, as NEAC would certify a
licensed provider's CA (Decree 23/2025/ND-CP): the request, the refused chains, the import, and
relying parties that trust only that root. On the PKCS#11 key store (the issuing key is made in
the token), PostgreSQL."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from cryptography import x509

from tests.e2e.signing_helpers import make_signers, sign
from tests.support.databases import fresh_database
from tests.support.pdfs import simple_pdf
from tests.support.pki import PkiFiles, fetch_crl, fetch_pki_files, issue_with_csr, openssl
from tests.support.server import KysoServer, free_port
from tests.support.snapshot import table_records
from tests.support.softhsm import SoftHsm
from tests.support.validate import judge_signed_pdf


@dataclass(frozen=True)
class NationalRoot:
    certificate: Path
    key: Path

    def certify(self, csr: Path, out: Path, *extra: str) -> Path:
        """Sign kyso's request as a parent CA does, keeping the extensions it asked for."""
        openssl("x509", "-req", "-in", str(csr), "-CA", str(self.certificate), "-CAkey",
                str(self.key), "-set_serial", "0x4b59534f", "-days", "3650", "-sha384",
                "-copy_extensions", "copyall", *extra, "-out", str(out))  # fmt: skip
        return out


def _national_root(directory: Path, name: str = "Vietnam National Root CA") -> NationalRoot:
    key, certificate = directory / f"{name}.key", directory / f"{name}.pem"
    openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-384", "-nodes",
            "-keyout", str(key), "-subj", f"/C=VN/O=Bộ Khoa học và Công nghệ/CN={name}",
            "-days", "7300", "-sha384", "-addext", "basicConstraints=critical,CA:TRUE",
            "-addext", "keyUsage=critical,keyCertSign,cRLSign", "-utf8", "-out",
            str(certificate))  # fmt: skip
    return NationalRoot(certificate, key)


@dataclass
class Installation:
    server: KysoServer
    root: NationalRoot
    csr: Path
    directory: Path


@pytest.fixture(scope="module")
def installation(
    softhsm: SoftHsm, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Installation]:
    directory = tmp_path_factory.mktemp("national-root")
    token = softhsm.init_token()
    with fresh_database("postgresql", directory) as url:
        port = free_port()
        env = {**token.kyso_env(), "KYSO_PUBLIC_URL": f"http://127.0.0.1:{port}"}
        server = KysoServer(data_dir=directory / "kyso-data", database_url=url, port=port,
                            extra_env=env)  # fmt: skip
        csr = directory / "issuing.csr"
        made = json.loads(server.cli("init", "--issuing-csr", str(csr)).stdout)
        assert made["created"] is True
        try:
            yield Installation(server, _national_root(directory), csr, directory)
        finally:
            server.stop()


def test_request_is_for_the_token_key_with_the_issuing_profile(installation: Installation) -> None:
    csr = x509.load_pem_x509_csr(installation.csr.read_bytes())
    assert csr.is_signature_valid
    constraints = csr.extensions.get_extension_for_class(x509.BasicConstraints).value
    assert (constraints.ca, constraints.path_length) == (True, 0)
    usage = csr.extensions.get_extension_for_class(x509.KeyUsage).value
    assert usage.key_cert_sign
    assert usage.crl_sign
    # asking again gives the same request: the key is made once
    again = installation.directory / "again.csr"
    done = json.loads(installation.server.cli("init", "--issuing-csr", str(again)).stdout)
    assert done["created"] is False
    assert x509.load_pem_x509_csr(again.read_bytes()).public_key() == csr.public_key()
    # the instance issues nothing before the import
    refused = installation.server.cli("admin", "create-user", "--email", "a@b.vn", "--password",
                                      "x" * 12, "--role", "admin", check=False)  # fmt: skip
    assert refused.returncode == 1


def test_chains_that_do_not_fit_are_refused_before_anything_is_installed(
    installation: Installation,
) -> None:
    directory, root = installation.directory, installation.root
    other_key_csr = directory / "other.csr"
    openssl("req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
            "-keyout", str(directory / "other.key"), "-subj", "/CN=someone else",
            "-out", str(other_key_csr))  # fmt: skip
    not_ours = root.certify(other_key_csr, directory / "not-ours.pem")
    stranger = _national_root(directory, "Some Other Root")
    by_stranger = stranger.certify(installation.csr, directory / "by-stranger.pem")
    not_a_ca = root.certify(installation.csr, directory / "not-a-ca.pem", "-copy_extensions",
                            "none")  # fmt: skip
    cases = {
        "no certificate in the chain is for the pending": [not_ours, root.certificate],
        "not signed by the root": [by_stranger, root.certificate],
        "lacks basicConstraints": [not_a_ca, root.certificate],
        "the root's": [by_stranger, stranger.certificate, root.certificate],
    }
    for expected, parts in cases.items():
        chain = directory / "bad-chain.pem"
        chain.write_bytes(b"".join(p.read_bytes() for p in parts))
        refused = installation.server.cli("admin", "import-issuing-ca", "--chain", str(chain),
                                          check=False)  # fmt: skip
        assert refused.returncode == 1
        assert "certs.invalid_chain" in refused.stderr
        assert expected in refused.stderr, refused.stderr
    assert table_records(installation.server.database_url, "ca_certificate") == []


@pytest.fixture(scope="module")
def imported(installation: Installation, tmp_path_factory: pytest.TempPathFactory) -> PkiFiles:
    directory = installation.directory
    issuing = installation.root.certify(installation.csr, directory / "issuing.pem")
    chain = directory / "chain.pem"
    chain.write_bytes(issuing.read_bytes() + installation.root.certificate.read_bytes())
    done = json.loads(installation.server.cli("admin", "import-issuing-ca", "--chain",
                                              str(chain)).stdout)  # fmt: skip
    assert "Vietnam National Root CA" in done["root_subject"]
    installation.server.start()
    return fetch_pki_files(installation.server.url, tmp_path_factory.mktemp("national-pki"))


def test_citizen_certificate_verifies_with_only_the_national_root_as_anchor(
    installation: Installation, imported: PkiFiles, workdir: Path
) -> None:
    server = installation.server
    assert imported.root.read_bytes() == installation.root.certificate.read_bytes()
    issued = issue_with_csr(server, workdir)
    crl = fetch_crl(server.url, workdir / "issuing.crl")
    verified = openssl("verify", "-crl_check", "-CAfile", str(installation.root.certificate),
                       "-untrusted", str(imported.issuing), "-CRLfile", str(crl),
                       str(issued.certificate), check=False)  # fmt: skip
    assert f"{issued.certificate}: OK" in verified.stdout.decode(), verified.stderr.decode()
    # our CRL and OCSP responder name the issuing CA as the national root certified it
    crl_issuer = openssl("crl", "-in", str(crl), "-noout", "-issuer").stdout.decode()
    assert "kyso Issuing CA 1" in crl_issuer
    answered = openssl("ocsp", "-url", f"{server.url}/pki/ocsp", "-issuer", str(imported.issuing),
                       "-cert", str(issued.certificate), "-CAfile",
                       str(installation.root.certificate), check=False)  # fmt: skip
    text = (answered.stdout + answered.stderr).decode()
    assert "Response verify OK" in text, text
    assert f"{issued.certificate}: good" in text
    # we publish no CRL for a root that is not ours
    assert httpx.get(f"{server.url}/pki/crl/root.crl").status_code == 404


def test_pyhanko_validates_a_b_lt_signature_trusting_only_the_national_root(
    installation: Installation, imported: PkiFiles, workdir: Path
) -> None:
    (signer,) = make_signers(installation.server, count=1)
    signed = sign(signer, simple_pdf(), level="B-LT", reason="Hồ sơ cấp phép")
    assert signed.status_code == 200, signed.text
    document = workdir / "signed.pdf"
    document.write_bytes(signed.content)
    judge_signed_pdf(document, installation.root.certificate, "B-LT", 1, workdir)


def test_import_and_key_ceremony_are_in_the_audit_log(
    installation: Installation, imported: PkiFiles
) -> None:
    events = table_records(installation.server.database_url, "audit_log")
    actions = [e["action"] for e in events]
    assert "ca.import_issuing" in actions
    generated = [
        json.loads(e["details"])["purpose"] for e in events if e["action"] == "key.generate"
    ]
    assert {"issuing CA key", "ocsp key", "tsa key"} <= set(generated)
    uses = [json.loads(e["details"])["purpose"] for e in events if e["action"] == "ca_key.use"]
    assert {"certificate request", "certificate", "crl"} <= set(uses)
    verdict = json.loads(installation.server.cli("admin", "audit", "verify").stdout)
    assert verdict["intact"] is True
