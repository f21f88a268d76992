"""The PKI protocol handlers of one process, built once from the loaded CA."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from api.bootstrap import Runtime
from certs.ocsp import OcspResponder
from certs.tsa import TimeStampAuthority

__all__ = ["PkiServices", "build_pki_services"]


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
