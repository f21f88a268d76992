"""What the service counts for its operators, in Prometheus' text format at ``GET /metrics``.

Counters for the business (signatures, charges, verifications), for the PKI protocols (OCSP
and TSA answers, counted where the fast path and the routes share their answer functions),
refusals by their stable code, and a histogram of request latency by route template (never
the raw path: no identifiers, no personal data in labels). With ``kyso serve --workers N``
(N > 1) the command sets ``PROMETHEUS_MULTIPROC_DIR`` before the workers start, and
``/metrics`` adds up every worker's counts (prometheus-client's multiprocess mode).
"""

from __future__ import annotations

import os

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from prometheus_client.multiprocess import MultiProcessCollector
from sqlalchemy import event
from sqlalchemy.orm import Session

from billing.models import UsageEvent

__all__ = [
    "CHARGED_VND",
    "CHARGES",
    "CONTENT_TYPE_LATEST",
    "LATENCY",
    "OCSP_ANSWERS",
    "REFUSALS",
    "SIGNATURES",
    "TSA_ANSWERS",
    "VERIFICATIONS",
    "count_commits",
    "exposition",
]

MULTIPROCESS_DIR = "PROMETHEUS_MULTIPROC_DIR"

SIGNATURES = Counter(
    "kyso_signatures", "Signatures delivered (and charged), by product", ["product"]
)
CHARGES = Counter("kyso_charges", "Metered events recorded, by product", ["product"])
CHARGED_VND = Counter(
    "kyso_charged_vnd", "VND debited for metered events (VAT included), by product", ["product"]
)
VERIFICATIONS = Counter(
    "kyso_verifications", "Documents verified, by overall indication", ["indication"]
)
OCSP_ANSWERS = Counter("kyso_ocsp_answers", "OCSP responses, by response status", ["status"])
TSA_ANSWERS = Counter("kyso_tsa_answers", "Time-stamp replies, by PKI status", ["status"])
REFUSALS = Counter("kyso_errors", "Refusals and failures answered, by stable code", ["code"])
LATENCY = Histogram(
    "kyso_request_duration_seconds",
    "Time to answer a request, by method and route template",
    ["method", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
)


def exposition() -> bytes:
    """The metrics in Prometheus' text format: this process's, or every worker's."""
    if os.environ.get(MULTIPROCESS_DIR):
        registry = CollectorRegistry()
        MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return generate_latest(registry)
    return generate_latest()


def _flushed(session: Session, _context: object) -> None:
    events = [o for o in session.new if isinstance(o, UsageEvent)]
    if events:
        session.info.setdefault(_PENDING, []).extend(
            (e.product, e.quantity or 1, e.amount or 0) for e in events
        )


def _committed(session: Session) -> None:
    for product, quantity, amount in session.info.pop(_PENDING, ()):
        CHARGES.labels(product).inc()
        CHARGED_VND.labels(product).inc(amount)
        if product.startswith("signature."):
            SIGNATURES.labels(product).inc(quantity)


def _rolled_back(session: Session, _previous: object) -> None:
    session.info.pop(_PENDING, None)


_PENDING = "kyso.metrics.usage"


def count_commits() -> None:
    """Count metered events (and so signatures) once their transaction commits: every usage
    event inserted through a session, whichever use case wrote it. Idempotent."""
    if not event.contains(Session, "after_commit", _committed):
        event.listen(Session, "after_flush", _flushed)
        event.listen(Session, "after_commit", _committed)
        event.listen(Session, "after_soft_rollback", _rolled_back)
