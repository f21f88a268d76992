"""Before countersigning: whether an earlier signature in the upload already fails.

A citizen who signs a document whose earlier signature is broken pays for a signature on a
document nobody can rely on. The check runs before anything is charged; signing goes on
only when the caller confirms.
"""

from __future__ import annotations

from pathlib import Path

from signing.errors import EarlierSignatureFails
from signing.verdict_words import say
from signing.verification import TOTAL_FAILED, SignatureReport, VerificationSettings, verify_pdf

__all__ = ["refuse_if_earlier_signature_fails"]


def refuse_if_earlier_signature_fails(path: Path, settings: VerificationSettings) -> None:
    """``EarlierSignatureFails`` when any signature already in ``path`` is TOTAL_FAILED
    (tampered with, not matching, changed in a forbidden way, or revoked before signing);
    an untrusted or unverifiable one (INDETERMINATE) is no reason to stop."""
    report = verify_pdf(path, settings)
    failing = [s for s in report.signatures if s.indication == TOTAL_FAILED]
    if not failing:
        return
    named = "; ".join(f"{s.field}: {_first_reason(s)}" for s in failing[:3])
    raise EarlierSignatureFails(
        f"an earlier signature in this document already fails ({named}). Nothing was "
        "charged. To sign it anyway, send the request again confirming it "
        "(confirm_countersign=true)",
        failing=len(failing),
    )


def _first_reason(signature: SignatureReport) -> str:
    """The first reason in words, without a parser's own message."""
    if not signature.reason_codes:
        return str(signature.subindication)
    code = dict(signature.reason_codes[0])
    code["detail"] = ""
    return say(str(code.pop("code")), code).replace(" ()", "")
