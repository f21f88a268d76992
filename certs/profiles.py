"""Certificate profiles: what every certificate of the hierarchy says about itself."""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric.types import CertificatePublicKeyTypes
from cryptography.x509.oid import (
    AuthorityInformationAccessOID,
    ExtendedKeyUsageOID,
    NameOID,
    ObjectIdentifier,
)

from certs.errors import InvalidSubject

__all__ = [
    "DOCUMENT_SIGNING_EKU",
    "KYSO_POLICY_ARC",
    "SIGNING_POLICY_OID",
    "TSA_POLICY_OID",
    "PkiUrls",
    "SignerSubject",
    "issuing_ca_profile",
    "issuing_ca_request",
    "ocsp_signer_profile",
    "random_serial",
    "root_ca_profile",
    "signing_profile",
    "tsa_profile",
]

# A UUID-derived arc (ITU-T X.667, 2.25.<uuid>): unique without registration.
KYSO_POLICY_ARC = "2.25.251994493580415758594655106248068088213"
SIGNING_POLICY_OID = ObjectIdentifier(f"{KYSO_POLICY_ARC}.1.1")
"""Policy of end-entity signing certificates for identity-proofed persons."""
TSA_POLICY_OID = ObjectIdentifier(f"{KYSO_POLICY_ARC}.2.1")
"""Policy under which the time-stamping authority issues tokens."""
DOCUMENT_SIGNING_EKU = ObjectIdentifier("1.3.6.1.5.5.7.3.36")
"""id-kp-documentSigning (RFC 9336)."""

_CCCD = re.compile(r"^\d{12}$")
_MST = re.compile(r"^\d{10}(-\d{3})?$")
"""A tax code (mã số thuế): 10 digits, or 13 for a branch written ``0101234567-001``."""
_ORG = "kyso"
_COUNTRY = "VN"


def random_serial() -> int:
    """A random positive serial number below 2**159 (RFC 5280: at most 20 octets, positive)."""
    while True:
        serial = secrets.randbits(159)
        if serial >= 2**64:
            return serial


@dataclass(frozen=True)
class PkiUrls:
    """Addresses written into certificates, under the service's public URL."""

    base: str
    """``KYSO_PUBLIC_URL`` without a trailing slash."""

    @property
    def ocsp(self) -> str:
        return f"{self.base}/pki/ocsp"

    @property
    def root_certificate(self) -> str:
        return f"{self.base}/pki/ca/root.crt"

    @property
    def issuing_certificate(self) -> str:
        return f"{self.base}/pki/ca/issuing.crt"

    @property
    def issuing_crl(self) -> str:
        return f"{self.base}/pki/crl/issuing.crl"

    @property
    def root_crl(self) -> str:
        return f"{self.base}/pki/crl/root.crl"


@dataclass(frozen=True)
class SignerSubject:
    """Who an end-entity signing certificate names: a citizen (CCCD) or an organisation (MST).

    As Vietnamese CAs write them, the identification code is the UID attribute: ``CCCD:`` and
    the 12-digit citizen ID for a person, ``MST:`` and the tax code for an organisation.
    """

    full_name: str
    """The person's name as proofed (``Nguyễn Văn An``), or the organisation's registered name."""
    cccd: str | None = None
    """The 12-digit citizen ID number (a person's certificate)."""
    email: str | None = None
    """An e-mail address for the subjectAltName, when known."""
    tax_code: str | None = None
    """The organisation's tax code, MST (an organisation's certificate)."""
    organisation: str | None = None
    """O= of the subject: the organisation a person signs for, or the organisation itself."""

    def __post_init__(self) -> None:
        if not self.full_name.strip() or len(self.full_name) > 64:
            raise InvalidSubject("the full name must be 1 to 64 characters", field="full_name")
        if (self.cccd is None) == (self.tax_code is None):
            raise InvalidSubject(
                "a certificate names either a citizen (CCCD) or an organisation (MST)",
                field="cccd",
            )
        if self.cccd is not None and not _CCCD.match(self.cccd):
            raise InvalidSubject("the CCCD must be exactly 12 digits", field="cccd")
        if self.tax_code is not None and not _MST.match(self.tax_code):
            raise InvalidSubject(
                "the tax code (MST) must be 10 digits, or 13 written 0101234567-001",
                field="tax_code",
            )
        if self.organisation is not None and not 0 < len(self.organisation.strip()) <= 64:
            raise InvalidSubject(
                "the organisation must be 1 to 64 characters", field="organisation"
            )

    @property
    def uid(self) -> str:
        return f"MST:{self.tax_code}" if self.tax_code else f"CCCD:{self.cccd}"

    def name(self) -> x509.Name:
        attributes = [x509.NameAttribute(NameOID.COUNTRY_NAME, _COUNTRY)]
        organisation = self.organisation or (self.full_name if self.tax_code else None)
        if organisation:
            attributes.append(x509.NameAttribute(NameOID.ORGANIZATION_NAME, organisation.strip()))
        attributes += [
            x509.NameAttribute(NameOID.COMMON_NAME, self.full_name.strip()),
            x509.NameAttribute(NameOID.USER_ID, self.uid),
        ]
        return x509.Name(attributes)


def _ca_name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, _COUNTRY),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, _ORG),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


ROOT_NAME = _ca_name("kyso Root CA")
ISSUING_NAME = _ca_name("kyso Issuing CA 1")
OCSP_NAME = _ca_name("kyso OCSP Responder 1")
TSA_NAME = _ca_name("kyso Time-Stamping Authority 1")


def _authority_key_identifier(
    issuer_public_key: CertificatePublicKeyTypes, issuer: x509.Certificate | None
) -> x509.AuthorityKeyIdentifier:
    """The issuer's own subject key identifier when it has one (a parent CA may compute it
    otherwise than we would), else the one derived from its key."""
    if issuer is not None:
        try:
            ski = issuer.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
        except x509.ExtensionNotFound:
            pass
        else:
            return x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski)
    return x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_public_key)  # type: ignore[arg-type]


def _base(
    subject: x509.Name,
    issuer: x509.Name,
    public_key: CertificatePublicKeyTypes,
    issuer_public_key: CertificatePublicKeyTypes,
    now: datetime,
    lifetime: timedelta,
    issuer_certificate: x509.Certificate | None = None,
) -> x509.CertificateBuilder:
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(public_key)
        .serial_number(random_serial())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + lifetime)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
        .add_extension(
            _authority_key_identifier(issuer_public_key, issuer_certificate), critical=False
        )
    )


def _key_usage(
    *, digital_signature: bool = False, non_repudiation: bool = False, ca: bool = False
) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=digital_signature,
        content_commitment=non_repudiation,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=ca,
        crl_sign=ca,
        encipher_only=False,
        decipher_only=False,
    )


def _issued_by_issuing_ca(
    builder: x509.CertificateBuilder, urls: PkiUrls
) -> x509.CertificateBuilder:
    return builder.add_extension(
        x509.CRLDistributionPoints(
            [
                x509.DistributionPoint(
                    [x509.UniformResourceIdentifier(urls.issuing_crl)], None, None, None
                )
            ]
        ),
        critical=False,
    ).add_extension(
        x509.AuthorityInformationAccess(
            [
                x509.AccessDescription(
                    AuthorityInformationAccessOID.OCSP,
                    x509.UniformResourceIdentifier(urls.ocsp),
                ),
                x509.AccessDescription(
                    AuthorityInformationAccessOID.CA_ISSUERS,
                    x509.UniformResourceIdentifier(urls.issuing_certificate),
                ),
            ]
        ),
        critical=False,
    )


def root_ca_profile(
    public_key: CertificatePublicKeyTypes, now: datetime
) -> x509.CertificateBuilder:
    """Self-signed root: 20 years, CA without path length limit."""
    return (
        _base(ROOT_NAME, ROOT_NAME, public_key, public_key, now, timedelta(days=20 * 365))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(_key_usage(ca=True), critical=True)
    )


def issuing_ca_profile(
    public_key: CertificatePublicKeyTypes,
    root_public_key: CertificatePublicKeyTypes,
    urls: PkiUrls,
    now: datetime,
) -> x509.CertificateBuilder:
    """The issuing CA under the root: 10 years, path length 0, revocable on the root's CRL."""
    return (
        _base(ISSUING_NAME, ROOT_NAME, public_key, root_public_key, now, timedelta(days=10 * 365))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_key_usage(ca=True), critical=True)
        .add_extension(
            x509.CRLDistributionPoints(
                [
                    x509.DistributionPoint(
                        [x509.UniformResourceIdentifier(urls.root_crl)], None, None, None
                    )
                ]
            ),
            critical=False,
        )
        .add_extension(
            x509.AuthorityInformationAccess(
                [
                    x509.AccessDescription(
                        AuthorityInformationAccessOID.CA_ISSUERS,
                        x509.UniformResourceIdentifier(urls.root_certificate),
                    )
                ]
            ),
            critical=False,
        )
    )


def _under_issuing(
    subject: x509.Name,
    public_key: CertificatePublicKeyTypes,
    issuing: x509.Certificate,
    now: datetime,
    lifetime: timedelta,
) -> x509.CertificateBuilder:
    """A certificate the issuing CA signs: its issuer is the issuing CA's subject as certified
    (by our root, or by a national root that may have written it otherwise)."""
    return _base(
        subject,
        issuing.subject,
        public_key,
        issuing.public_key(),
        now,
        lifetime,
        issuing,
    )


def issuing_ca_request() -> x509.CertificateSigningRequestBuilder:
    """What kyso asks a parent (national) root to certify for its issuing CA: the issuing
    name, a CA limited to end entities (path length 0), certificate and CRL signing."""
    return (
        x509.CertificateSigningRequestBuilder()
        .subject_name(ISSUING_NAME)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_key_usage(ca=True), critical=True)
    )


def ocsp_signer_profile(
    public_key: CertificatePublicKeyTypes,
    issuing: x509.Certificate,
    now: datetime,
) -> x509.CertificateBuilder:
    """The delegated OCSP responder: EKU OCSPSigning, id-pkix-ocsp-nocheck, 2 years."""
    return (
        _under_issuing(OCSP_NAME, public_key, issuing, now, timedelta(days=730))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_key_usage(digital_signature=True), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.OCSP_SIGNING]), critical=True)
        .add_extension(x509.OCSPNoCheck(), critical=False)
    )


def tsa_profile(
    public_key: CertificatePublicKeyTypes,
    issuing: x509.Certificate,
    urls: PkiUrls,
    now: datetime,
) -> x509.CertificateBuilder:
    """The time-stamping unit: EKU timeStamping only, critical (RFC 3161 2.3); 5 years."""
    return _issued_by_issuing_ca(
        _under_issuing(TSA_NAME, public_key, issuing, now, timedelta(days=5 * 365))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_key_usage(digital_signature=True, non_repudiation=True), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.TIME_STAMPING]), critical=True)
        .add_extension(
            x509.CertificatePolicies([x509.PolicyInformation(TSA_POLICY_OID, None)]),
            critical=False,
        ),
        urls,
    )


def signing_profile(
    subject: SignerSubject,
    public_key: CertificatePublicKeyTypes,
    issuing: x509.Certificate,
    urls: PkiUrls,
    now: datetime,
    lifetime: timedelta = timedelta(days=730),
) -> x509.CertificateBuilder:
    """A signing certificate (C=VN, [O,] CN, UID CCCD:… or MST:…; non-repudiation;
    documentSigning)."""
    builder = _issued_by_issuing_ca(
        _under_issuing(subject.name(), public_key, issuing, now, lifetime)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_key_usage(digital_signature=True, non_repudiation=True), critical=True)
        .add_extension(
            x509.ExtendedKeyUsage([DOCUMENT_SIGNING_EKU, ExtendedKeyUsageOID.EMAIL_PROTECTION]),
            critical=False,
        )
        .add_extension(
            x509.CertificatePolicies([x509.PolicyInformation(SIGNING_POLICY_OID, None)]),
            critical=False,
        ),
        urls,
    )
    if subject.email:
        builder = builder.add_extension(
            x509.SubjectAlternativeName([x509.RFC822Name(subject.email)]), critical=False
        )
    return builder
