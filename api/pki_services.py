"""The PKI protocol handlers of one process, built once from the loaded CA."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import Session

from api.bootstrap import Runtime
from certs.crl import current_crl
from certs.ocsp import OcspResponder
from certs.tsa import TimeStampAuthority

__all__ = ["CRL_ISSUERS", "PkiServices", "build_pki_services", "crl_for"]

CRL_ISSUERS = ("issuing", "root")


@dataclass(frozen=True)
class PkiServices:
    ocsp: OcspResponder
    tsa: TimeStampAuthority


def build_pki_services(runtime: Runtime) -> PkiServices:
    authority = runtime.authority
    return PkiServices(
        ocsp=OcspResponder(
            issuer=authority.issuing,
            responder=authority.ocsp,
            key=authority.ocsp_key,
            validity=timedelta(minutes=runtime.settings.ocsp_validity_minutes),
        ),
        tsa=TimeStampAuthority(
            certificate=authority.tsa, chain=[authority.issuing], key=authority.tsa_key
        ),
    )


def crl_for(runtime: Runtime, session: Session, issuer: str, now: datetime) -> bytes:
    """The CRL to serve for ``issuer`` (``issuing`` or ``root``), published anew when due."""
    authority = runtime.authority
    if issuer == "root":
        return current_crl(
            session,
            issuer="root",
            issuer_certificate=authority.root,
            open_issuer_key=authority.root_key,
            now=now,
            policy=runtime.settings.crl_policy,
        )
    return current_crl(
        session,
        issuer="issuing",
        issuer_certificate=authority.issuing,
        open_issuer_key=lambda: authority.issuing_key,
        now=now,
        policy=runtime.settings.crl_policy,
    )
