"""Verify a signed PDF (``POST /v1/verifications``, the verification page): every signature
judged against our root and the anchors administrators added, our CA's records for our own
certificates; metered (free under the default plans). The page keeps its reports a week."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from asn1crypto import x509 as asn1_x509

from api.metrics import VERIFICATIONS
from api.usecases.payer import payer_for
from api.usecases.services import Services
from billing.charges import charge
from identity.models import User
from signing.errors import NotAPdf
from signing.models import KeptReport
from signing.verification import VerificationReport, VerificationSettings, verify_pdf

__all__ = [
    "KEEP_REPORTS",
    "KeepReports",
    "VerifyDocument",
    "keep_reports",
    "verification_settings",
    "verify",
]

KEEP_REPORTS = timedelta(days=7)
"""How long a report stays on its page (the purge deletes it after)."""


def verification_settings(
    services: Services,
    *,
    extra_roots: list[asn1_x509.Certificate] | None = None,
    online: bool | None = None,
) -> VerificationSettings:
    """Our root, the anchors administrators added, and any given."""
    with services.reading() as session:
        return services.verification.settings(session, extra_roots=extra_roots or [], online=online)


@dataclass(frozen=True, kw_only=True)
class VerifyDocument:
    user: User
    path: Path
    """The received PDF (never a name the client chose)."""
    filename: str
    """The name the client gave it, for the report."""


def verify(services: Services, command: VerifyDocument) -> VerificationReport:
    """The report; the verification is charged after it (a file that is no PDF is not)."""
    with services.reading() as session:
        settings = services.verification.settings(session)
        payer = payer_for(session, command.user)
    with command.path.open("rb") as head:
        if b"%PDF-" not in head.read(1024):
            raise NotAPdf("this is not a PDF file (it does not start with %PDF-)")
    report = verify_pdf(command.path, settings)
    report.file["name"] = Path(command.filename or "document.pdf").name[:255] or "document.pdf"
    with services.unit_of_work() as session:
        charge(session, payer, "verification", now=services.clock(),
               reference=report.file["sha256"][:80])  # fmt: skip
    VERIFICATIONS.labels(report.indication).inc()
    return report


@dataclass(frozen=True, kw_only=True)
class KeepReports:
    user: User
    batch: str
    """Reports of one upload of several files share it."""
    reports: list[tuple[str, dict[str, Any]]]
    """Each file's name and its report (as the API gives it)."""


def keep_reports(services: Services, command: KeepReports) -> list[KeptReport]:
    now = services.clock()
    kept = [
        KeptReport(
            user_id=command.user.id,
            batch=command.batch,
            filename=name,
            indication=report["indication"],
            report=json.dumps(report),
            created_at=now,
            expires_at=now + KEEP_REPORTS,
        )
        for name, report in command.reports
    ]
    with services.unit_of_work() as session:
        for record in kept:
            session.add(record)
    return kept
