"""What a backup states about its database, read inside the snapshot, and checked at restore.

Two kinds: *ledger facts*, read with plain SQL so they can be read again from a restored
database of an older schema before it is migrated (schema revision, rows per table, every
balance, every usage counter, the audit chain's head) and compared with the manifest; and
*descriptive facts*, read through the models of this kyso at backup time (the root's
fingerprint, the last signature's time, the keys the database names, the documents to copy,
the audit chain's verdict).
"""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.x509 import load_der_x509_certificate
from sqlalchemy import Connection, MetaData, func, select, text
from sqlmodel import Session, col
from sqlmodel import select as sm_select

from certs.authority import current_ca_certificates
from certs.models import CaCertificate
from identity.audit import verify_audit_chain
from identity.models import TokenSigningKey
from signing.models import SignatureRecord

__all__ = ["DescriptiveFacts", "LedgerFacts", "descriptive_facts", "ledger_facts"]


def _lines_sha256(rows: list[tuple[Any, ...]]) -> str:
    digest = hashlib.sha256()
    for row in sorted(tuple(str(v) for v in r) for r in rows):
        digest.update(("\t".join(row) + "\n").encode())
    return digest.hexdigest()


@dataclass(frozen=True)
class LedgerFacts:
    """Facts a restored database must show exactly as the backup's did."""

    schema_revision: str
    rows: dict[str, int]
    """Rows per table (Alembic's own table left out)."""
    accounts: int
    balance_total: int
    balances_sha256: str
    """SHA-256 over every (account, balance), sorted."""
    usage_counters_sha256: str
    """SHA-256 over every (account, counter, count), sorted: the counts prices depend on."""
    audit_head_seq: int
    audit_head_hash: str

    def as_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> LedgerFacts:
        return cls(**{name: data[name] for name in cls.__dataclass_fields__})

    def differences(self, other: LedgerFacts) -> list[str]:
        """What differs from ``other``, in words (empty when nothing does)."""
        found = []
        for name, mine in asdict(self).items():
            theirs = getattr(other, name)
            if name == "rows":
                tables = sorted(set(mine) | set(theirs))
                found += [
                    f"table {t}: {mine.get(t)} rows in the backup, {theirs.get(t)} restored"
                    for t in tables
                    if mine.get(t) != theirs.get(t)
                ]
            elif mine != theirs:
                found.append(f"{name}: {mine} in the backup, {theirs} restored")
        return found


def ledger_facts(connection: Connection) -> LedgerFacts:
    """Read inside the caller's transaction (the snapshot), with plain SQL."""
    metadata = MetaData()
    metadata.reflect(connection)
    rows = {
        name: int(connection.execute(select(func.count()).select_from(table)).scalar_one())
        for name, table in sorted(metadata.tables.items())
        if name != "alembic_version"
    }
    balances = [
        (r[0], r[1]) for r in connection.execute(text("SELECT id, balance FROM billing_account"))
    ]
    counters = connection.execute(text("SELECT account_id, name, count FROM usage_counter"))
    head = connection.execute(text("SELECT seq, hash FROM audit_head WHERE id = 1")).first()
    return LedgerFacts(
        schema_revision=str(
            connection.execute(text("SELECT version_num FROM alembic_version")).scalar_one()
        ),
        rows=rows,
        accounts=len(balances),
        balance_total=sum(int(b) for _, b in balances),
        balances_sha256=_lines_sha256(balances),
        usage_counters_sha256=_lines_sha256([tuple(r) for r in counters]),
        audit_head_seq=int(head[0]) if head else 0,
        audit_head_hash=str(head[1]) if head else "0" * 64,
    )


@dataclass(frozen=True)
class DescriptiveFacts:
    """What the backup says about itself, read through this kyso's models."""

    root_sha256: str
    last_signature_at: datetime | None
    key_ids: tuple[str, ...]
    """Every key the database names (the CA's, the token-signing keys)."""
    kept_documents: tuple[str, ...]
    """Signatures whose signed document is still kept (not purged)."""
    audit_intact: bool
    audit_problem: str | None


def descriptive_facts(session: Session) -> DescriptiveFacts:
    root = load_der_x509_certificate(current_ca_certificates(session)["root"].certificate)
    key_ids = set(session.exec(sm_select(CaCertificate.key_id)).all())
    key_ids |= set(session.exec(sm_select(TokenSigningKey.key_id)).all())
    documents = session.exec(
        sm_select(SignatureRecord.id).where(col(SignatureRecord.purged_at).is_(None))
    ).all()
    verdict = verify_audit_chain(session)
    return DescriptiveFacts(
        root_sha256=root.fingerprint(hashes.SHA256()).hex(":").upper(),
        last_signature_at=session.exec(sm_select(func.max(SignatureRecord.created_at))).one(),
        key_ids=tuple(sorted(key_ids)),
        kept_documents=tuple(sorted(documents)),
        audit_intact=verdict.intact,
        audit_problem=verdict.problem,
    )
