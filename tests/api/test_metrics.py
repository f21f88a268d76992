"""Metered events are counted when their transaction commits, never when it rolls back."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from sqlmodel import Session, SQLModel, create_engine

from api.metrics import CHARGED_VND, CHARGES, SIGNATURES, count_commits
from api.pki_services import _ocsp_status, _tsa_status
from billing.models import UsageEvent
from certs.ocsp import error_response
from certs.tsa import rejection


def _event(n: int) -> UsageEvent:
    return UsageEvent(account_id="a", user_id="u", product="signature.B-T", amount=4000,
                      signature_id=f"s{n}", created_at=datetime.now(UTC))  # fmt: skip


def test_usage_events_count_once_committed(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'm.db'}")
    SQLModel.metadata.create_all(engine, tables=[UsageEvent.__table__])  # type: ignore[list-item]
    count_commits()
    count_commits()  # twice: still counted once
    signatures = SIGNATURES.labels("signature.B-T")
    before = (signatures._value.get(), CHARGES.labels("signature.B-T")._value.get(),
              CHARGED_VND.labels("signature.B-T")._value.get())  # fmt: skip
    with Session(engine) as session:
        session.add(_event(1))
        session.flush()
        session.rollback()  # a refusal: nothing counted
        session.add(_event(2))
        session.add(_event(3))
        session.commit()
    after = (signatures._value.get(), CHARGES.labels("signature.B-T")._value.get(),
             CHARGED_VND.labels("signature.B-T")._value.get())  # fmt: skip
    assert tuple(a - b for a, b in zip(after, before, strict=True)) == (2, 2, 8000)


def test_pki_answers_are_counted_by_the_status_they_open_with() -> None:
    for status in ("malformed_request", "internal_error", "try_later", "unauthorized"):
        assert _ocsp_status(error_response(status)) == status
    assert _tsa_status(rejection("system_failure", "the unit failed")) == "rejection"
    assert _ocsp_status(b"") == _tsa_status(b"\x30") == "unreadable"
