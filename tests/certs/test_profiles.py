"""What certificates say: the hierarchy's profiles and a person's signing certificate."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from sqlmodel import Session

from certs.errors import InvalidCsr, InvalidSubject
from certs.issuance import issue_signing_certificate, public_key_from_csr
from certs.profiles import DOCUMENT_SIGNING_EKU, SIGNING_POLICY_OID, TSA_POLICY_OID, SignerSubject
from tests.support.local_ca import URLS, LocalCa


def _issue(
    local_ca: LocalCa, session: Session, subject: SignerSubject | None = None
) -> x509.Certificate:
    key = ec.generate_private_key(ec.SECP256R1())
    return issue_signing_certificate(
        session,
        issuing_certificate=local_ca.authority.issuing,
        issuing_key=local_ca.authority.issuing_key,
        subject=subject
        or SignerSubject(full_name="Trần Thị Bình", cccd="079195001234", email="binh@example.vn"),
        public_key=key.public_key(),
        urls=URLS,
        now=datetime.now(UTC),
    )


def test_signing_certificate_profile(local_ca: LocalCa, session: Session) -> None:
    cert = _issue(local_ca, session)
    ext = cert.extensions

    assert cert.subject.get_attributes_for_oid(NameOID.COUNTRY_NAME)[0].value == "VN"
    assert cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "Trần Thị Bình"
    assert cert.subject.get_attributes_for_oid(NameOID.USER_ID)[0].value == "CCCD:079195001234"
    key_usage = ext.get_extension_for_class(x509.KeyUsage)
    assert key_usage.critical
    assert key_usage.value.digital_signature
    assert key_usage.value.content_commitment
    assert not key_usage.value.key_cert_sign
    assert list(ext.get_extension_for_class(x509.ExtendedKeyUsage).value) == [
        DOCUMENT_SIGNING_EKU,
        ExtendedKeyUsageOID.EMAIL_PROTECTION,
    ]
    policies = ext.get_extension_for_class(x509.CertificatePolicies).value
    assert [p.policy_identifier for p in policies] == [SIGNING_POLICY_OID]
    crl_dp = ext.get_extension_for_class(x509.CRLDistributionPoints).value
    assert crl_dp[0].full_name[0].value == "http://ca.test/pki/crl/issuing.crl"
    aia = {
        d.access_method: d.access_location.value
        for d in ext.get_extension_for_class(x509.AuthorityInformationAccess).value
    }
    assert aia == {
        x509.AuthorityInformationAccessOID.OCSP: "http://ca.test/pki/ocsp",
        x509.AuthorityInformationAccessOID.CA_ISSUERS: "http://ca.test/pki/ca/issuing.crt",
    }
    assert ext.get_extension_for_class(x509.SubjectAlternativeName).value.get_values_for_type(
        x509.RFC822Name
    ) == ["binh@example.vn"]
    assert ext.get_extension_for_class(x509.BasicConstraints).value.ca is False
    cert.verify_directly_issued_by(local_ca.authority.issuing)


def test_serials_are_random_positive_and_below_2_159(local_ca: LocalCa, session: Session) -> None:
    serials = [_issue(local_ca, session).serial_number for _ in range(40)]
    assert len(set(serials)) == 40
    assert all(0 < s < 2**159 for s in serials)
    assert max(serials).bit_length() > 150  # random over the range, not a counter


def test_hierarchy_profiles(local_ca: LocalCa) -> None:
    authority = local_ca.authority
    root_bc = authority.root.extensions.get_extension_for_class(x509.BasicConstraints)
    issuing_bc = authority.issuing.extensions.get_extension_for_class(x509.BasicConstraints)
    assert root_bc.critical
    assert root_bc.value.ca
    assert issuing_bc.value.ca
    assert issuing_bc.value.path_length == 0
    authority.issuing.verify_directly_issued_by(authority.root)

    tsa_eku = authority.tsa.extensions.get_extension_for_class(x509.ExtendedKeyUsage)
    assert tsa_eku.critical
    assert list(tsa_eku.value) == [ExtendedKeyUsageOID.TIME_STAMPING]
    assert [
        p.policy_identifier
        for p in authority.tsa.extensions.get_extension_for_class(x509.CertificatePolicies).value
    ] == [TSA_POLICY_OID]

    ocsp_eku = authority.ocsp.extensions.get_extension_for_class(x509.ExtendedKeyUsage)
    assert list(ocsp_eku.value) == [ExtendedKeyUsageOID.OCSP_SIGNING]
    authority.ocsp.extensions.get_extension_for_class(x509.OCSPNoCheck)
    for cert in (authority.root, authority.issuing, authority.ocsp, authority.tsa):
        assert isinstance(cert.public_key(), ec.EllipticCurvePublicKey)


@pytest.mark.parametrize(
    ("full_name", "cccd"),
    [
        ("", "001203012345"),
        ("An", "12345"),
        ("An", "00120301234a"),
        ("An", "0012030123456"),
        ("x" * 65, "001203012345"),
    ],
)
def test_signer_subject_is_validated(full_name: str, cccd: str) -> None:
    with pytest.raises(InvalidSubject):
        SignerSubject(full_name=full_name, cccd=cccd)


def _csr(key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey | ed25519.Ed25519PrivateKey) -> bytes:
    builder = x509.CertificateSigningRequestBuilder().subject_name(
        x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "x")])
    )
    algorithm = None if isinstance(key, ed25519.Ed25519PrivateKey) else hashes.SHA256()
    return builder.sign(key, algorithm).public_bytes(serialization.Encoding.PEM)


def test_csr_keys_are_accepted_or_refused_clearly() -> None:
    assert isinstance(
        public_key_from_csr(_csr(ec.generate_private_key(ec.SECP384R1()))),
        ec.EllipticCurvePublicKey,
    )
    with pytest.raises(InvalidCsr, match="unsupported key"):
        public_key_from_csr(_csr(ed25519.Ed25519PrivateKey.generate()))
    weak = rsa.generate_private_key(public_exponent=65537, key_size=1024)  # noqa: S505
    with pytest.raises(InvalidCsr, match="unsupported key"):
        public_key_from_csr(_csr(weak))
    with pytest.raises(InvalidCsr, match="not a PEM or DER"):
        public_key_from_csr(b"hello")


def test_csr_with_broken_signature_is_refused() -> None:
    der = bytearray(
        x509.load_pem_x509_csr(_csr(ec.generate_private_key(ec.SECP256R1()))).public_bytes(
            serialization.Encoding.DER
        )
    )
    der[-5] ^= 0x01  # inside the signature value
    with pytest.raises(InvalidCsr):
        public_key_from_csr(bytes(der))


def test_signing_certificate_never_outlives_the_issuing_ca(
    local_ca: LocalCa, session: Session
) -> None:
    issuing_end = local_ca.authority.issuing.not_valid_after_utc
    late = issuing_end - timedelta(days=30)
    cert = issue_signing_certificate(
        session,
        issuing_certificate=local_ca.authority.issuing,
        issuing_key=local_ca.authority.issuing_key,
        subject=SignerSubject(full_name="Hoàng Văn Em", cccd="001085000321"),
        public_key=ec.generate_private_key(ec.SECP256R1()).public_key(),
        urls=URLS,
        now=late,
    )
    assert cert.not_valid_after_utc <= issuing_end


def test_organisation_certificate_names_its_tax_code_as_vietnamese_cas_do(
    local_ca: LocalCa, session: Session
) -> None:
    subject = SignerSubject(full_name="Công ty TNHH Sao Mai", tax_code="0101234567-001")
    cert = _issue(local_ca, session, subject)
    assert cert.subject.get_attributes_for_oid(NameOID.USER_ID)[0].value == "MST:0101234567-001"
    assert cert.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)[0].value == (
        "Công ty TNHH Sao Mai"
    )
    assert cert.issuer == local_ca.authority.issuing.subject


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"tax_code": "01012345"}, "tax_code"),
        ({"tax_code": "0101234567", "cccd": "079195001234"}, "cccd"),
        ({}, "cccd"),
    ],
    ids=["short-mst", "both-codes", "no-code"],
)
def test_identification_code_is_one_cccd_or_one_mst(fields: dict[str, str], field: str) -> None:
    with pytest.raises(InvalidSubject) as refused:
        SignerSubject(full_name="Sao Mai", **fields)
    assert refused.value.fields["field"] == field


def test_subscriber_validity_is_capped_at_three_years(local_ca: LocalCa, session: Session) -> None:
    now = datetime.now(UTC)
    cert = issue_signing_certificate(
        session,
        issuing_certificate=local_ca.authority.issuing,
        issuing_key=local_ca.authority.issuing_key,
        subject=SignerSubject(full_name="Lê Văn Cường", cccd="001090000123"),
        public_key=ec.generate_private_key(ec.SECP256R1()).public_key(),
        urls=URLS,
        now=now,
        lifetime=timedelta(days=3650),
    )
    assert cert.not_valid_after_utc - now <= timedelta(days=3 * 365)
    assert cert.not_valid_after_utc - now > timedelta(days=3 * 365 - 1)
