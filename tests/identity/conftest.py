"""In-process identity services over a throw-away SQLite database and a local CA."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime

import pytest
from sqlmodel import Session

from certs.crl import CrlPolicy
from certs.keys import KeyAlgorithm
from certs.masterkey import MasterKey
from certs.protected_keys import ProtectedKeyVault
from identity.accounts import NewUser, create_user
from identity.authorisations import SignatureAuthoriser
from identity.cccd import Gender
from identity.credentials import CredentialService
from identity.models import Role, User
from identity.otp import OneTimeCodes
from identity.passwords import Passwords
from tests.support.local_ca import URLS, LocalCa, build_local_ca

MASTER = MasterKey(b"\x01" * 32)  # the local CA's master key


@dataclass(frozen=True)
class Services:
    ca: LocalCa
    passwords: Passwords
    codes: OneTimeCodes
    vault: ProtectedKeyVault
    credentials: CredentialService
    authoriser: SignatureAuthoriser


@pytest.fixture(scope="session")
def services(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Services]:
    ca = build_local_ca(tmp_path_factory.mktemp("identity-ca"), KeyAlgorithm.ECDSA_P256)
    vault = ProtectedKeyVault(MASTER)
    codes = OneTimeCodes(MASTER)
    credentials = CredentialService(
        vault=vault, authority=ca.authority, urls=URLS, algorithm=KeyAlgorithm.ECDSA_P256,
        crl_policy=CrlPolicy(),
    )  # fmt: skip
    yield Services(
        ca, Passwords(), codes, vault, credentials, SignatureAuthoriser(credentials, codes)
    )
    ca.engine.dispose()


@pytest.fixture
def session(services: Services) -> Iterator[Session]:
    """A session whose work is rolled back after the test."""
    with Session(services.ca.engine) as s:
        yield s
        s.rollback()


_numbers = itertools.count(1)


@pytest.fixture
def make_citizen(services: Services, session: Session) -> Callable[..., User]:
    """A citizen with a valid CCCD (born 1990, male), proofed to level 2 unless told."""

    def make(*, verified: bool = True) -> User:
        n = next(_numbers)
        return create_user(
            session,
            services.passwords,
            NewUser(
                email=f"citizen{n}-{id(session)}@example.vn",
                password="mật khẩu dài 2026",
                full_name="Nguyễn Văn Bình",
                cccd=f"0010900{n:05d}",
                date_of_birth=date(1990, 5, 17),
                gender=Gender.MALE,
                phone="0912345678",
                role=Role.CITIZEN,
            ),
            now=datetime.now(UTC),
            actor="test",
            verified=verified,
        )

    return make
