"""The operator's steps for an issuing CA under a parent (national) root: the request, the import.

``kyso init --issuing-csr FILE`` initialises the installation without a self-made root, makes
the issuing CA's key in the key store and writes its request; ``kyso admin import-issuing-ca
--chain FILE`` installs the certificate and chain the parent returned, after the checks of
:mod:`certs.subordination`. Both are audited.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from cryptography.hazmat.primitives import hashes, serialization
from sqlmodel import Session

from api.bootstrap import KeyCustody, initialise, master_key_for, open_key_custody, pki_urls
from api.database import make_engine, startup_lock, unit_of_work
from api.settings import Settings
from certs.subordination import import_issuing_chain, request_issuing_certificate
from identity.audit import record_audit, record_ca_key_use, record_key_generation

__all__ = ["ImportSummary", "RequestSummary", "import_issuing_ca", "request_issuing_ca"]


@dataclass(frozen=True)
class RequestSummary:
    key_id: str
    created: bool
    csr_path: Path


@dataclass(frozen=True)
class ImportSummary:
    root_subject: str
    root_sha256: str
    issuing_subject: str
    issuing_serial: str


@contextmanager
def _ceremony(settings: Settings) -> Iterator[tuple[KeyCustody, Session]]:
    """The key store and one unit of work, under the start-up lock (no server starts midway)."""
    keys = open_key_custody(settings, master_key_for(settings, create=False))
    engine = make_engine(settings.sqlalchemy_url)
    try:
        with startup_lock(engine, settings.data_dir), unit_of_work(engine) as session:
            yield keys, session
    finally:
        engine.dispose()


def request_issuing_ca(settings: Settings, csr_path: Path, *, actor: str) -> RequestSummary:
    """Initialise without a root, make (or find) the issuing key and write its CSR (PEM)."""
    initialise(settings, hierarchy=False)
    now = datetime.now(UTC)
    with _ceremony(settings) as (keys, session):
        request = request_issuing_certificate(
            session,
            keys.keystore,
            algorithm=settings.key_algorithm,
            rsa_pss=settings.rsa_signature_scheme == "pss",
            now=now,
        )
        if request.created:
            record_key_generation(
                session,
                at=now,
                actor=actor,
                key_id=request.key_id,
                purpose="issuing CA key",
                algorithm=settings.key_algorithm.value,
                key_store=keys.keystore.kind,
            )
            record_ca_key_use(
                session,
                at=now,
                actor=actor,
                key_id=request.key_id,
                purpose="certificate request",
                target="issuing-ca-csr",
            )
    csr_path.write_bytes(request.csr.public_bytes(serialization.Encoding.PEM))
    return RequestSummary(request.key_id, request.created, csr_path)


def import_issuing_ca(settings: Settings, chain_path: Path, *, actor: str) -> ImportSummary:
    """Install the parent's chain for the pending request; the instance then issues."""
    now = datetime.now(UTC)
    with _ceremony(settings) as (keys, session):
        imported = import_issuing_chain(
            session,
            keys.keystore,
            chain_path.read_bytes(),
            urls=pki_urls(settings),
            now=now,
            crl_policy=settings.crl_policy,
            rsa_pss=settings.rsa_signature_scheme == "pss",
        )
        root_sha256 = imported.root.fingerprint(hashes.SHA256()).hex()
        issuing_serial = format(imported.issuing.serial_number, "x")
        record_audit(session, at=now, actor=actor, action="ca.import_issuing",
                     target=issuing_serial, root_sha256=root_sha256,
                     root=imported.root.subject.rfc4514_string(),
                     key_id=imported.issuing_key_id)  # fmt: skip
        for key_id, purpose in ((imported.ocsp_key_id, "ocsp key"),
                                (imported.tsa_key_id, "tsa key")):  # fmt: skip
            record_key_generation(session, at=now, actor=actor, key_id=key_id,
                                  purpose=purpose, algorithm=settings.key_algorithm.value,
                                  key_store=keys.keystore.kind)  # fmt: skip
        for purpose, target in (("certificate", "ocsp"), ("certificate", "tsa"),
                                ("crl", "issuing-crl:1")):  # fmt: skip
            record_ca_key_use(session, at=now, actor=actor, key_id=imported.issuing_key_id,
                              purpose=purpose, target=target)  # fmt: skip
    return ImportSummary(
        root_subject=imported.root.subject.rfc4514_string(),
        root_sha256=root_sha256,
        issuing_subject=imported.issuing.subject.rfc4514_string(),
        issuing_serial=issuing_serial,
    )
