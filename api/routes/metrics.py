"""``GET /metrics``: the counters and latencies of ``api.metrics`` for Prometheus."""

from __future__ import annotations

import hmac

from fastapi import APIRouter, Request
from fastapi.responses import Response

from api.deps import RuntimeDep
from api.metrics import CONTENT_TYPE_LATEST, exposition
from identity.errors import InvalidToken

__all__ = ["router"]

router = APIRouter(tags=["health"])


@router.get("/metrics", summary="Prometheus metrics (text format)", response_class=Response)
def metrics(request: Request, runtime: RuntimeDep) -> Response:
    token = runtime.settings.metrics_token
    if token is not None:
        given = request.headers.get("authorization", "")
        expected = f"Bearer {token.get_secret_value()}"
        if not hmac.compare_digest(given.encode(), expected.encode()):
            raise InvalidToken("GET /metrics wants Authorization: Bearer <KYSO_METRICS_TOKEN>",
                               missing=not given)  # fmt: skip
    return Response(exposition(), media_type=CONTENT_TYPE_LATEST)
