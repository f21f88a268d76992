"""Errors of signing, each with a stable machine-readable code and typed fields."""

from __future__ import annotations

from kernel.errors import KysoError

__all__ = [
    "AttemptTakenOver",
    "DocumentGone",
    "DynamicXfa",
    "EarlierSignatureFails",
    "EncryptedPdf",
    "FieldUnusable",
    "HostilePdf",
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
    "UnsupportedProtection",
]


class SigningError(KysoError):
    """Base of every error raised by ``signing``."""

    code = "signing.error"


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


class UnsupportedProtection(SigningError):
    """Opens without a password, but with an owner protection kyso cannot read and keep
    (Acrobat 9's AES-256 revision 5, a damaged handler)."""

    code = "signing.unsupported_protection"


class DynamicXfa(SigningError):
    """A dynamic XFA form: readers that know XFA draw it from its template, not the page."""

    code = "signing.dynamic_xfa"


class EarlierSignatureFails(SigningError):
    """An earlier signature in the document already fails; countersigning needs the caller's
    confirmation."""

    code = "signing.earlier_signature_fails"
    FIELDS = ("failing",)

    def __init__(self, detail: str, *, failing: int) -> None:
        super().__init__(detail)
        self.failing = failing
        """How many earlier signatures fail."""


class NoSuchPage(SigningError):
    code = "signing.no_such_page"
    FIELDS = ("page_count",)

    def __init__(self, detail: str, *, page_count: int) -> None:
        super().__init__(detail)
        self.page_count = page_count


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


class SignatureNotFound(SigningError):
    code = "signing.not_found"


class DocumentGone(SigningError):
    """The signed document was deleted at the end of its retention period."""

    code = "signing.document_purged"
    FIELDS = ("signature_id",)

    def __init__(self, detail: str, *, signature_id: str) -> None:
        super().__init__(detail)
        self.signature_id = signature_id


class InvalidOption(SigningError):
    """A signing option (level, rectangle, language, certification level) is not understood."""

    code = "signing.invalid_option"


class HostilePdf(SigningError):
    """A document built to exhaust the reader: a decompression bomb, absurd nesting."""

    code = "signing.hostile_pdf"


class TooManyPages(SigningError):
    code = "signing.too_many_pages"
    FIELDS = ("page_count", "max_pages")

    def __init__(self, detail: str, *, page_count: int, max_pages: int) -> None:
        super().__init__(detail)
        self.page_count, self.max_pages = page_count, max_pages


class NotATrustAnchor(SigningError):
    """What was given is not a CA certificate that could anchor trust."""

    code = "verification.not_a_trust_anchor"


class TrustAnchorNotFound(SigningError):
    code = "verification.trust_anchor_not_found"
    FIELDS = ("sha256",)

    def __init__(self, detail: str, *, sha256: str) -> None:
        super().__init__(detail)
        self.sha256 = sha256


class AttemptTakenOver(SigningError):
    """A signing that stalled past its lease was taken over by a retry of the same request:
    the stalled one delivers nothing (the retry's result is the request's)."""

    code = "signing.attempt_taken_over"
