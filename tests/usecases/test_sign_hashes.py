"""Signing hashes for a remote-signing client, without HTTP: the whole batch priced before any
signing; a repeat of the same request within the SAD's lifetime answered with the same
signatures and charged once; any other use of a spent SAD refused."""

from __future__ import annotations

import hashlib
import json

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import Prehashed
from cryptography.x509 import load_der_x509_certificate
from sqlmodel import select

from api.usecases import authorise
from api.usecases.authorise import AuthoriseSignatures
from api.usecases.sign_hashes import ECDSA_SHA256, SignHashes, sign_hashes
from billing.errors import InsufficientFunds
from billing.models import UsageEvent
from identity.errors import AuthorisationInvalid
from identity.models import Credential, User
from signing.models import AttemptState, SigningAttempt
from tests.usecases.conftest import PIN, Installation


def _sad(installation: Installation, user: User, credential_id: str, digests: list[bytes]) -> str:
    command = AuthoriseSignatures(user=user, credential_id=credential_id, pin=PIN,
                                  hashes=tuple(digests), remote=True)  # fmt: skip
    return authorise.authorise(installation.services, command).token


def _hash_charges(installation: Installation, user: User) -> list[int]:
    with installation.services.reading() as session:
        return [
            e.amount
            for e in session.exec(
                select(UsageEvent).where(
                    UsageEvent.user_id == user.id, UsageEvent.product == "signature.hash"
                )
            )
        ]


def test_a_repeated_sign_hash_gets_the_same_signatures_and_is_charged_once(
    installation: Installation,
) -> None:
    user, credential_id = installation.citizen(funds=20_000)
    digests = [hashlib.sha256(b"don %d" % n).digest() for n in range(2)]
    sad = _sad(installation, user, credential_id, digests)
    command = SignHashes(user=user, credential_id=credential_id, sad=sad,
                         hashes=tuple(digests), sign_algo=ECDSA_SHA256)  # fmt: skip
    first = sign_hashes(installation.services, command)
    again = sign_hashes(installation.services, command)  # the client lost the first answer
    assert again == first
    with installation.services.reading() as session:
        der = session.get(Credential, credential_id).certificate  # type: ignore[union-attr]
    public = load_der_x509_certificate(der).public_key()
    assert isinstance(public, ec.EllipticCurvePublicKey)
    for value, digest in zip(first, digests, strict=True):
        public.verify(value, digest, ec.ECDSA(Prehashed(hashes.SHA256())))
    assert _hash_charges(installation, user) == [4_000, 4_000]
    with installation.services.reading() as session:
        (attempt,) = session.exec(
            select(SigningAttempt).where(SigningAttempt.user_id == user.id)
        ).all()
    assert (attempt.state, attempt.kind, attempt.units, attempt.wallet_amount) == (
        AttemptState.CHARGED.value, "hashes", 2, 8_000,
    )  # fmt: skip
    assert len(json.loads(attempt.result or "[]")) == 2
    other = SignHashes(user=user, credential_id=credential_id, sad=sad,
                       hashes=tuple(digests[:1]), sign_algo=ECDSA_SHA256)  # fmt: skip
    with pytest.raises(AuthorisationInvalid, match="used already"):
        sign_hashes(installation.services, other)
    assert _hash_charges(installation, user) == [4_000, 4_000]


def test_a_batch_the_wallet_cannot_cover_signs_nothing_and_keeps_its_sad(
    installation: Installation,
) -> None:
    user, credential_id = installation.citizen(funds=7_999)
    digests = [hashlib.sha256(b"batch %d" % n).digest() for n in range(2)]
    sad = _sad(installation, user, credential_id, digests)
    command = SignHashes(user=user, credential_id=credential_id, sad=sad,
                         hashes=tuple(digests), sign_algo=ECDSA_SHA256)  # fmt: skip
    with pytest.raises(InsufficientFunds) as refused:
        sign_hashes(installation.services, command)
    assert refused.value.price == 8_000
    assert _hash_charges(installation, user) == []
    with installation.services.reading() as session:
        assert (
            session.exec(select(SigningAttempt).where(SigningAttempt.user_id == user.id)).all()
            == []
        )
