"""Errors of signing, each with a stable machine-readable code."""

from __future__ import annotations

__all__ = [
    "DocumentGone",
    "DynamicXfa",
    "EarlierSignatureFails",
    "EncryptedPdf",
    "FieldUnusable",
    "HostilePdf",
    "IdempotencyConflict",
    "InvalidOption",
    "InvalidPlacement",
    "NoSuchPage",
    "NotAPdf",
    "NotATrustAnchor",
    "RestrictedPdf",
    "SignatureNotFound",
    "SigningError",
    "StampFontMissing",
    "TimestampUnavailable",
    "TooManyPages",
    "TrustAnchorNotFound",
    "UnparsablePdf",
]


class SigningError(Exception):
    """Base of every error raised by ``signing``; ``code`` is stable, ``detail`` for people."""

    code = "signing.error"
    commits_work = False

    def __init__(self, detail: str, **fields: object) -> None:
        super().__init__(detail)
        self.detail = detail
        self.fields = fields


class NotAPdf(SigningError):
    code = "signing.not_a_pdf"


class UnparsablePdf(SigningError):
    """Truncated or broken beyond what a reader can repair."""

    code = "signing.unparsable_pdf"


class EncryptedPdf(SigningError):
    code = "signing.encrypted_pdf"


class RestrictedPdf(SigningError):
    """Opens without a password, but its owner permits neither form filling nor signing."""

    code = "signing.restricted_pdf"


class DynamicXfa(SigningError):
    """A dynamic XFA form: readers that know XFA draw it from its template, not the page."""

    code = "signing.dynamic_xfa"


class EarlierSignatureFails(SigningError):
    """An earlier signature in the document already fails; countersigning needs the caller's
    confirmation."""

    code = "signing.earlier_signature_fails"


class NoSuchPage(SigningError):
    code = "signing.no_such_page"


class InvalidPlacement(SigningError):
    code = "signing.invalid_placement"


class FieldUnusable(SigningError):
    """The named signature field does not exist, is signed already, or is not a signature field."""

    code = "signing.field_unusable"


class TimestampUnavailable(SigningError):
    """The level needs a time-stamp and the time-stamping authority did not answer."""

    code = "signing.tsa_unavailable"


class StampFontMissing(SigningError):
    code = "signing.stamp_font_missing"


class IdempotencyConflict(SigningError):
    """The Idempotency-Key was used before for a different request."""

    code = "signing.idempotency_conflict"


class SignatureNotFound(SigningError):
    code = "signing.not_found"


class DocumentGone(SigningError):
    """The signed document was deleted at the end of its retention period."""

    code = "signing.document_purged"


class InvalidOption(SigningError):
    """A signing option (level, rectangle, language, certification level) is not understood."""

    code = "signing.invalid_option"


class HostilePdf(SigningError):
    """A document built to exhaust the reader: a decompression bomb, absurd nesting."""

    code = "signing.hostile_pdf"


class TooManyPages(SigningError):
    code = "signing.too_many_pages"


class NotATrustAnchor(SigningError):
    """What was given is not a CA certificate that could anchor trust."""

    code = "verification.not_a_trust_anchor"


class TrustAnchorNotFound(SigningError):
    code = "verification.trust_anchor_not_found"
