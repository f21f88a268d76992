"""Revocation with RFC 5280 reasons and the CRLs that publish it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from sqlmodel import Session

from certs.crl import CrlPolicy, current_crl, publish_crl
from certs.errors import AlreadyRevoked, CertificateNotFound, InvalidSerial, UnknownRevocationReason
from certs.issuance import issue_signing_certificate
from certs.profiles import SignerSubject
from certs.revocation import (
    DatabaseRevocationSource,
    RevocationReason,
    Status,
    parse_serial,
    revoke,
)
from tests.support.local_ca import URLS, LocalCa

POLICY = CrlPolicy(validity=timedelta(days=7), refresh_after=timedelta(days=1))


def _issue(local_ca: LocalCa, session: Session) -> x509.Certificate:
    return issue_signing_certificate(
        session,
        issuing_certificate=local_ca.authority.issuing,
        issuing_key=local_ca.authority.issuing_key,
        subject=SignerSubject(full_name="Phạm Thị Dung", cccd="031187004567"),
        public_key=ec.generate_private_key(ec.SECP256R1()).public_key(),
        urls=URLS,
        now=datetime.now(UTC),
    )


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("keyCompromise", RevocationReason.KEY_COMPROMISE),
        ("key-compromise", RevocationReason.KEY_COMPROMISE),
        ("KEY_COMPROMISE", RevocationReason.KEY_COMPROMISE),
        ("cACompromise", RevocationReason.CA_COMPROMISE),
        ("superseded", RevocationReason.SUPERSEDED),
    ],
)
def test_reason_names_are_read_leniently(text: str, reason: RevocationReason) -> None:
    assert RevocationReason.parse(text) is reason


@pytest.mark.parametrize("text", ["removeFromCRL", "stolen", ""])
def test_unknown_reasons_are_refused(text: str) -> None:
    with pytest.raises(UnknownRevocationReason):
        RevocationReason.parse(text)


def test_serials_are_read_in_any_hex_spelling() -> None:
    assert parse_serial("0x1A:bc") == parse_serial("1abc") == parse_serial("1A BC") == 0x1ABC
    with pytest.raises(InvalidSerial):
        parse_serial("xyz")


def test_revocation_changes_status_and_is_refused_twice(
    local_ca: LocalCa, session: Session
) -> None:
    cert = _issue(local_ca, session)
    source = DatabaseRevocationSource(session)
    assert source.status(cert.serial_number).status is Status.GOOD
    at = datetime(2026, 11, 1, 3, 0, tzinfo=UTC)
    revoke(session, cert.serial_number, RevocationReason.AFFILIATION_CHANGED, at)
    status = source.status(cert.serial_number)
    assert (status.status, status.revoked_at, status.reason) == (
        Status.REVOKED,
        at,
        RevocationReason.AFFILIATION_CHANGED,
    )
    with pytest.raises(AlreadyRevoked):
        revoke(session, cert.serial_number, RevocationReason.KEY_COMPROMISE, at)
    with pytest.raises(CertificateNotFound):
        revoke(session, 42, RevocationReason.KEY_COMPROMISE, at)


def test_crl_lists_revoked_with_reason_and_increments_number(
    local_ca: LocalCa, session: Session
) -> None:
    authority = local_ca.authority
    kept, gone, plain = (
        _issue(local_ca, session),
        _issue(local_ca, session),
        _issue(local_ca, session),
    )
    now = datetime.now(UTC)
    revoke(session, gone.serial_number, RevocationReason.KEY_COMPROMISE, now)
    revoke(session, plain.serial_number, RevocationReason.UNSPECIFIED, now)
    first = publish_crl(
        session,
        issuer="issuing",
        issuer_certificate=authority.issuing,
        issuer_key=authority.issuing_key,
        now=now,
        policy=POLICY,
    )
    second = publish_crl(
        session,
        issuer="issuing",
        issuer_certificate=authority.issuing,
        issuer_key=authority.issuing_key,
        now=now,
        policy=POLICY,
    )
    crl = x509.load_der_x509_crl(second.der)

    assert second.number == first.number + 1
    assert crl.extensions.get_extension_for_class(x509.CRLNumber).value.crl_number == second.number
    assert crl.is_signature_valid(authority.issuing.public_key())  # type: ignore[arg-type]
    assert crl.next_update_utc - crl.last_update_utc == POLICY.validity
    assert crl.get_revoked_certificate_by_serial_number(kept.serial_number) is None
    entry = crl.get_revoked_certificate_by_serial_number(gone.serial_number)
    assert entry is not None
    assert (
        entry.extensions.get_extension_for_class(x509.CRLReason).value.reason
        is x509.ReasonFlags.key_compromise
    )
    unspecified = crl.get_revoked_certificate_by_serial_number(plain.serial_number)
    assert unspecified is not None
    assert len(unspecified.extensions) == 0  # RFC 5280: unspecified is left out


def test_current_crl_is_reused_until_refresh_age(local_ca: LocalCa, session: Session) -> None:
    authority = local_ca.authority
    opened: list[int] = []

    def open_key() -> object:
        opened.append(1)
        return authority.issuing_key

    now = datetime.now(UTC)
    fresh = current_crl(
        session,
        issuer="issuing",
        issuer_certificate=authority.issuing,
        open_issuer_key=open_key,
        now=now + timedelta(days=2),
        policy=POLICY,
    )  # type: ignore[arg-type]
    again = current_crl(
        session,
        issuer="issuing",
        issuer_certificate=authority.issuing,
        open_issuer_key=open_key,
        now=now + timedelta(days=2, hours=1),
        policy=POLICY,
    )  # type: ignore[arg-type]
    assert fresh == again
    assert len(opened) == 1
    crl = x509.load_der_x509_crl(fresh)
    assert crl.last_update_utc.date() == (now + timedelta(days=2)).date()
