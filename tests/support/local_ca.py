"""An in-process CA over a throw-away SQLite database (all tables), for unit tests."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import Engine
from sqlmodel import Session, SQLModel

import certs.models  # noqa: F401 - registers the tables
import identity.models  # noqa: F401
from api.database import make_engine
from certs.authority import Authority, load_authority
from certs.crl import CrlPolicy
from certs.hierarchy import ensure_hierarchy
from certs.keys import KeyAlgorithm
from certs.keystore import FileKeyStore
from certs.masterkey import MasterKey
from certs.profiles import PkiUrls

URLS = PkiUrls("http://ca.test")


@dataclass(frozen=True)
class LocalCa:
    engine: Engine
    authority: Authority
    keystore: FileKeyStore


def build_local_ca(directory: Path, algorithm: KeyAlgorithm, *, rsa_pss: bool = False) -> LocalCa:
    engine = make_engine(f"sqlite:///{directory / 'ca.db'}")
    SQLModel.metadata.create_all(engine)
    keystore = FileKeyStore(directory / "keys", MasterKey(b"\x01" * 32))
    with Session(engine) as session:
        ensure_hierarchy(
            session,
            keystore,
            algorithm=algorithm,
            urls=URLS,
            now=datetime.now(UTC),
            crl_policy=CrlPolicy(),
            rsa_pss=rsa_pss,
        )
        session.commit()
        authority = load_authority(session, keystore, rsa_pss=rsa_pss)
    return LocalCa(engine=engine, authority=authority, keystore=keystore)
