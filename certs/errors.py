"""Errors of the certificate authority, each with a stable machine-readable code and typed
fields."""

from __future__ import annotations

from kernel.errors import KysoError

__all__ = [
    "AlreadyRevoked",
    "CertificateNotFound",
    "CertsError",
    "CrlNotPublished",
    "InvalidChain",
    "InvalidCsr",
    "InvalidSerial",
    "InvalidSubject",
    "KeyNotFound",
    "KeyStoreError",
    "MasterKeyError",
    "TokenUnavailable",
    "UnknownRevocationReason",
    "WrongSecret",
]


class CertsError(KysoError):
    """Base of every error raised by ``certs``."""

    code = "certs.error"


class _AboutCertificate(CertsError):
    FIELDS = ("serial",)

    def __init__(self, detail: str, *, serial: str) -> None:
        super().__init__(detail)
        self.serial = serial


class MasterKeyError(CertsError):
    """The master key is missing, malformed, unprotected, or not the one that sealed the keys."""

    code = "certs.master_key"


class KeyStoreError(CertsError):
    """A sealed key could not be opened (tampered with, or sealed under another key)."""

    code = "certs.key_store"


class KeyNotFound(KeyStoreError):
    """No key under that id."""

    code = "certs.key_not_found"


class TokenUnavailable(KeyStoreError):
    """The PKCS#11 token cannot be reached (removed, unreachable, busy): try again later."""

    code = "certs.token_unavailable"


class InvalidChain(CertsError):
    """A certificate chain to import does not fit the pending key, the profile or itself."""

    code = "certs.invalid_chain"


class InvalidCsr(CertsError):
    """The certificate signing request is unreadable, unsigned, or carries an unsupported key."""

    code = "certs.invalid_csr"


class InvalidSubject(CertsError):
    """The subject data for a certificate is incomplete or malformed."""

    code = "certs.invalid_subject"
    FIELDS = ("field",)

    def __init__(self, detail: str, *, field: str | None = None) -> None:
        super().__init__(detail)
        self.field = field


class CertificateNotFound(_AboutCertificate):
    """No certificate with that serial number was issued here."""

    code = "certs.certificate_not_found"


class CrlNotPublished(CertsError):
    """A CRL this instance does not publish (the root's, when a parent authority holds it)."""

    code = "certs.crl_not_published"


class UnknownRevocationReason(CertsError):
    """The revocation reason is not one of RFC 5280's."""

    code = "certs.unknown_revocation_reason"
    FIELDS = ("reason",)

    def __init__(self, detail: str, *, reason: str) -> None:
        super().__init__(detail)
        self.reason = reason


class AlreadyRevoked(_AboutCertificate):
    """The certificate is revoked already."""

    code = "certs.already_revoked"


class InvalidSerial(CertsError):
    """A serial number that is not hexadecimal."""

    code = "certs.invalid_serial"


class WrongSecret(KeyStoreError):
    """A holder's secret (PIN, PUK, authorisation secret) does not open a protected key."""

    code = "certs.wrong_secret"
