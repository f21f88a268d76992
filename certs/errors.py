"""Errors of the certificate authority, each with a stable machine-readable code."""

from __future__ import annotations

__all__ = [
    "AlreadyRevoked",
    "CertificateNotFound",
    "CertsError",
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


class CertsError(Exception):
    """Base of every error raised by ``certs``.

    ``code`` is stable and machine-readable; ``detail`` is for people and never holds a secret.
    """

    code = "certs.error"

    def __init__(self, detail: str, **fields: object) -> None:
        super().__init__(detail)
        self.detail = detail
        self.fields = fields


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


class CertificateNotFound(CertsError):
    """No certificate with that serial number was issued here."""

    code = "certs.certificate_not_found"


class UnknownRevocationReason(CertsError):
    """The revocation reason is not one of RFC 5280's."""

    code = "certs.unknown_revocation_reason"


class AlreadyRevoked(CertsError):
    """The certificate is revoked already."""

    code = "certs.already_revoked"


class InvalidSerial(CertsError):
    """A serial number that is not hexadecimal."""

    code = "certs.invalid_serial"


class WrongSecret(KeyStoreError):
    """A holder's secret (PIN, PUK, authorisation secret) does not open a protected key."""

    code = "certs.wrong_secret"
