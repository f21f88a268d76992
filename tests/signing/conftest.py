"""The signing tests' own CA (built in a temporary folder) and a key-store signer it certified."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from asn1crypto import x509 as asn1_x509
from cryptography.hazmat.primitives import serialization
from sqlmodel import Session

from certs.issuance import issue_signing_certificate
from certs.keys import KeyAlgorithm, SoftwareSigningKey, generate_private_key
from certs.profiles import SignerSubject
from signing.signer import KeyStoreSigner
from tests.support.local_ca import URLS, LocalCa, build_local_ca


def asn1(certificate: object) -> asn1_x509.Certificate:
    der = certificate.public_bytes(serialization.Encoding.DER)  # type: ignore[attr-defined]
    return asn1_x509.Certificate.load(der)


@pytest.fixture(scope="module")
def local_ca(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalCa]:
    ca = build_local_ca(tmp_path_factory.mktemp("signer-ca"), KeyAlgorithm.ECDSA_P256)
    yield ca
    ca.engine.dispose()


@pytest.fixture(scope="module")
def signer(local_ca: LocalCa) -> KeyStoreSigner:
    private_key = generate_private_key(KeyAlgorithm.ECDSA_P256)
    with Session(local_ca.engine) as session:
        certificate = issue_signing_certificate(
            session,
            issuing_certificate=local_ca.authority.issuing,
            issuing_key=local_ca.authority.issuing_key,
            subject=SignerSubject(full_name="Trần Thị Bích Ngọc", cccd="079199001234"),
            public_key=private_key.public_key(),
            urls=URLS,
            now=datetime.now(UTC),
        )
        session.commit()
    chain = [asn1(local_ca.authority.issuing), asn1(local_ca.authority.root)]
    return KeyStoreSigner(SoftwareSigningKey("test", private_key), asn1(certificate), chain)
