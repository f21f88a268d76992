"""A citizen's key signs only with the citizen's PIN: locks, PUK, renewal, authorisations."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from sqlmodel import Session, select

from certs.errors import WrongSecret
from certs.protected_keys import ProtectedKeyVault
from certs.revocation import DatabaseRevocationSource, Status
from identity.credentials import PIN_ATTEMPTS
from identity.errors import (
    AlreadyExists,
    AuthorisationInvalid,
    CredentialLocked,
    InvalidField,
    LevelTooLow,
    WrongPin,
    WrongPuk,
)
from identity.models import Credential, CredentialStatus, SignatureAuthorisation, User
from tests.identity.conftest import MASTER, Services

PIN = "402917"
NOW = datetime.now(UTC)
DOC = hashlib.sha256(b"to khai").digest()


def _verify(credential: Credential, signature: bytes, data: bytes) -> None:
    public_key = x509.load_der_x509_certificate(credential.certificate).public_key()
    assert isinstance(public_key, ec.EllipticCurvePublicKey)
    public_key.verify(signature, data, ec.ECDSA(hashes.SHA256()))


def test_only_proofed_citizens_get_a_certificate(
    services: Services, session: Session, make_citizen: Callable[..., User]
) -> None:
    with pytest.raises(LevelTooLow):
        services.credentials.create(session, make_citizen(verified=False), PIN, NOW)
    with pytest.raises(InvalidField):
        services.credentials.create(session, make_citizen(), "123456", NOW)


def test_certificate_names_the_citizen_and_puk_is_shown_once(
    services: Services, session: Session, make_citizen: Callable[..., User]
) -> None:
    user = make_citizen()
    new = services.credentials.create(session, user, PIN, NOW)
    uid = new.certificate.subject.get_attributes_for_oid(x509.NameOID.USER_ID)[0].value
    assert uid == f"CCCD:{user.cccd}"
    assert new.puk is not None
    stored = session.get(Credential, new.credential.id)
    assert stored is not None
    blobs = (stored.sealed_by_pin or b"") + (stored.sealed_by_puk or b"")
    assert PIN.encode() not in blobs
    assert new.puk.replace("-", "").encode() not in blobs
    with pytest.raises(AlreadyExists):
        services.credentials.create(session, user, "739201", NOW)


def test_database_and_master_key_without_pin_cannot_sign(
    services: Services, session: Session, make_citizen: Callable[..., User]
) -> None:
    user = make_citizen()
    credential = services.credentials.create(session, user, PIN, NOW).credential
    row = session.exec(select(Credential).where(Credential.id == credential.id)).one()
    vault = ProtectedKeyVault(MASTER)  # everything the server holds
    name = services.credentials.key_name(credential.id)
    assert row.sealed_by_pin is not None
    assert row.sealed_by_puk is not None
    for guess in (b"", b"000000", b"123456", MASTER.secret):
        with pytest.raises(WrongSecret):
            vault.open(name, row.sealed_by_pin, guess)
        with pytest.raises(WrongSecret):
            vault.open(name, row.sealed_by_puk, guess)
    with pytest.raises(AuthorisationInvalid):  # no token: nothing to consume
        services.authoriser.consume(session, f"{credential.id}.AAAA", credential_id=credential.id,
                                    hashes=[DOC], now=NOW)  # fmt: skip
    # With the PIN, it does sign: the refusal above is the PIN's doing.
    key = vault.open(name, row.sealed_by_pin, PIN.encode())
    _verify(row, key.sign(b"x"), b"x")


def test_five_wrong_pins_lock_and_the_puk_unlocks(
    services: Services, session: Session, make_citizen: Callable[..., User]
) -> None:
    user = make_citizen()
    new = services.credentials.create(session, user, PIN, NOW)
    credential_id = new.credential.id
    for attempt in range(1, PIN_ATTEMPTS):
        with pytest.raises(WrongPin) as wrong:
            services.authoriser.authorise(session, user, credential_id=credential_id, pin="739201",
                                          otp=None, hashes=[DOC], count=None, now=NOW)  # fmt: skip
        assert wrong.value.fields["attempts_left"] == PIN_ATTEMPTS - attempt
    with pytest.raises(CredentialLocked):
        services.authoriser.authorise(session, user, credential_id=credential_id, pin="739201",
                                      otp=None, hashes=[DOC], count=None, now=NOW)  # fmt: skip
    with pytest.raises(CredentialLocked):  # even the right PIN now
        services.authoriser.authorise(session, user, credential_id=credential_id, pin=PIN,
                                      otp=None, hashes=[DOC], count=None, now=NOW)  # fmt: skip
    with pytest.raises(WrongPuk):
        services.credentials.unlock_with_puk(session, user, credential_id, "AAAA-BBBB-CCCC-DDDD",
                                             "739201", NOW)  # fmt: skip
    assert new.puk is not None
    services.credentials.unlock_with_puk(session, user, credential_id, new.puk, "739201", NOW)
    issued = services.authoriser.authorise(session, user, credential_id=credential_id,
                                           pin="739201", otp=None, hashes=[DOC], count=None,
                                           now=NOW)  # fmt: skip
    credential = session.get(Credential, credential_id)
    assert credential is not None
    assert credential.status == CredentialStatus.ACTIVE.value
    assert credential.failed_pin_attempts == 0
    _, key = services.authoriser.consume(session, issued.token, credential_id=credential_id,
                                         hashes=[DOC], now=NOW)  # fmt: skip
    signature = key.sign_digest(DOC, hashes.SHA256())
    public_key = x509.load_der_x509_certificate(credential.certificate).public_key()
    assert isinstance(public_key, ec.EllipticCurvePublicKey)
    from cryptography.hazmat.primitives.asymmetric.utils import Prehashed

    public_key.verify(signature, DOC, ec.ECDSA(Prehashed(hashes.SHA256())))


def test_pin_change_rewraps_the_key(
    services: Services, session: Session, make_citizen: Callable[..., User]
) -> None:
    user = make_citizen()
    credential_id = services.credentials.create(session, user, PIN, NOW).credential.id
    services.credentials.change_pin(session, user, credential_id, PIN, "739201", NOW)
    with pytest.raises(WrongPin):
        services.authoriser.authorise(session, user, credential_id=credential_id, pin=PIN,
                                      otp=None, hashes=[DOC], count=None, now=NOW)  # fmt: skip
    services.authoriser.authorise(session, user, credential_id=credential_id, pin="739201",
                                  otp=None, hashes=[DOC], count=None, now=NOW)  # fmt: skip


def test_renewal_and_reset_supersede_and_revoke_the_old_certificate(
    services: Services, session: Session, make_citizen: Callable[..., User]
) -> None:
    user = make_citizen()
    first = services.credentials.create(session, user, PIN, NOW).credential
    second = services.credentials.renew(session, user, first.id, PIN, NOW).credential
    third = services.credentials.reset(session, user, second.id, "739201", NOW).credential
    source = DatabaseRevocationSource(session)
    for old in (first, second):
        refreshed = session.get(Credential, old.id)
        assert refreshed is not None
        assert refreshed.status == CredentialStatus.SUPERSEDED.value
        assert refreshed.sealed_by_pin is None  # the old key is destroyed
        status = source.status(int(old.serial, 16))
        assert status.status is Status.REVOKED
        assert status.reason is not None
        assert status.reason.value == "superseded"
    assert source.status(int(third.serial, 16)).status is Status.GOOD


def test_citizen_revokes_own_certificate(
    services: Services, session: Session, make_citizen: Callable[..., User]
) -> None:
    user = make_citizen()
    credential = services.credentials.create(session, user, PIN, NOW).credential
    services.credentials.revoke_own(session, user, credential.id, "keyCompromise", NOW)
    status = DatabaseRevocationSource(session).status(int(credential.serial, 16))
    assert status.status is Status.REVOKED


class TestSignatureAuthorisation:
    def _setup(self, services: Services, session: Session, make_citizen: Callable[..., User]
               ) -> tuple[User, str]:  # fmt: skip
        user = make_citizen()
        return user, services.credentials.create(session, user, PIN, NOW).credential.id

    def test_is_single_use(self, services: Services, session: Session,
                           make_citizen: Callable[..., User]) -> None:  # fmt: skip
        user, cid = self._setup(services, session, make_citizen)
        sad = services.authoriser.authorise(session, user, credential_id=cid, pin=PIN, otp=None,
                                            hashes=[DOC], count=None, now=NOW).token  # fmt: skip
        services.authoriser.consume(session, sad, credential_id=cid, hashes=[DOC], now=NOW)
        with pytest.raises(AuthorisationInvalid, match="used already"):
            services.authoriser.consume(session, sad, credential_id=cid, hashes=[DOC], now=NOW)

    def test_expires(self, services: Services, session: Session,
                     make_citizen: Callable[..., User]) -> None:  # fmt: skip
        user, cid = self._setup(services, session, make_citizen)
        sad = services.authoriser.authorise(session, user, credential_id=cid, pin=PIN, otp=None,
                                            hashes=[DOC], count=None, now=NOW).token  # fmt: skip
        with pytest.raises(AuthorisationInvalid, match="expired"):
            services.authoriser.consume(session, sad, credential_id=cid, hashes=[DOC],
                                        now=NOW + timedelta(minutes=6))  # fmt: skip

    def test_signs_only_its_own_hashes(self, services: Services, session: Session,
                                       make_citizen: Callable[..., User]) -> None:  # fmt: skip
        user, cid = self._setup(services, session, make_citizen)
        sad = services.authoriser.authorise(session, user, credential_id=cid, pin=PIN, otp=None,
                                            hashes=[DOC], count=None, now=NOW).token  # fmt: skip
        foreign = hashlib.sha256(b"another document").digest()
        with pytest.raises(AuthorisationInvalid, match="not authorised"):
            services.authoriser.consume(session, sad, credential_id=cid, hashes=[foreign], now=NOW)
        with pytest.raises(AuthorisationInvalid, match="not authorised"):
            services.authoriser.consume(session, sad, credential_id=cid, hashes=[DOC, foreign],
                                        now=NOW)  # fmt: skip

    def test_signs_only_with_its_own_credential(self, services: Services, session: Session,
                                                make_citizen: Callable[..., User]) -> None:  # fmt: skip
        user, cid = self._setup(services, session, make_citizen)
        _other_user, other_cid = self._setup(services, session, make_citizen)
        sad = services.authoriser.authorise(session, user, credential_id=cid, pin=PIN, otp=None,
                                            hashes=[DOC], count=None, now=NOW).token  # fmt: skip
        with pytest.raises(AuthorisationInvalid, match="another credential"):
            services.authoriser.consume(
                session, sad, credential_id=other_cid, hashes=[DOC], now=NOW
            )

    def test_tampered_secret_is_refused(self, services: Services, session: Session,
                                        make_citizen: Callable[..., User]) -> None:  # fmt: skip
        user, cid = self._setup(services, session, make_citizen)
        sad = services.authoriser.authorise(session, user, credential_id=cid, pin=PIN, otp=None,
                                            hashes=[DOC], count=None, now=NOW).token  # fmt: skip
        row_id, secret = sad.split(".")
        forged = f"{row_id}.{'A' * len(secret)}"
        with pytest.raises(AuthorisationInvalid, match="unknown"):
            services.authoriser.consume(session, forged, credential_id=cid, hashes=[DOC], now=NOW)
        row = session.get(SignatureAuthorisation, row_id)
        assert row is not None
        assert row.sealed_key is not None  # a forged attempt does not burn the real one

    def test_batch_by_count(self, services: Services, session: Session,
                            make_citizen: Callable[..., User]) -> None:  # fmt: skip
        user, cid = self._setup(services, session, make_citizen)
        sad = services.authoriser.authorise(session, user, credential_id=cid, pin=PIN, otp=None,
                                            hashes=None, count=3, now=NOW).token  # fmt: skip
        with pytest.raises(AuthorisationInvalid, match="covers 3"):
            services.authoriser.consume(session, sad, credential_id=cid, hashes=None, count=4,
                                        now=NOW)  # fmt: skip
        services.authoriser.consume(session, sad, credential_id=cid, hashes=None, count=3, now=NOW)
