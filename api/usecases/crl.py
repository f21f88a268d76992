"""The CRL to serve for an issuer (``GET /pki/crl/…``), published anew when it is due."""

from __future__ import annotations

from api.pki_services import crl_for
from api.usecases.services import Services

__all__ = ["current_crl"]


def current_crl(services: Services, issuer: str) -> bytes:
    """DER; ``issuer`` is ``issuing`` or ``root``."""
    with services.unit_of_work() as session:
        return crl_for(services.runtime, session, issuer, services.clock())
