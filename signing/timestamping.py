"""pyHanko time-stampers: our own TSA called in-process, or an external one over HTTP.

Calling our own TSA over HTTP from inside a request would wait on ourselves; in-process the
bytes are the same.
"""

from __future__ import annotations

from collections.abc import Callable

from asn1crypto import tsp
from pyhanko.sign.timestamps.api import TimeStamper

__all__ = ["InProcessTimeStamper"]


class InProcessTimeStamper(TimeStamper):
    """Hands the DER request to a ``respond(der) -> der`` callable (``TimeStampAuthority``)."""

    def __init__(self, respond: Callable[[bytes], bytes]) -> None:
        super().__init__()
        self._respond = respond

    async def async_request_tsa_response(self, req: tsp.TimeStampReq) -> tsp.TimeStampResp:
        return tsp.TimeStampResp.load(self._respond(req.dump()))
