"""CSC v2 OAuth 2.0's token and revocation endpoints (``/csc/v2/oauth2/token``, RFC 6749;
``/csc/v2/oauth2/revoke``, RFC 7009). The authorization endpoint is a page
(``api/web/csc_consent.py``); the flows are ``api/usecases/csc_oauth.py``. Errors are OAuth's
``{"error", "error_description"}``, a view of the one error table."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import JSONResponse, Response

from api.deps import RuntimeDep, ServicesDep
from api.routes.client_credentials import basic_credentials
from api.usecases import csc_oauth as flows
from api.usecases.oidc import TokenRequest

__all__ = ["router"]

router = APIRouter(prefix="/csc/v2/oauth2", tags=["csc"])

FormText = Annotated[str, Form(max_length=8192)]


def _client_fields(
    client_id: FormText = "",
    client_secret: FormText = "",
    client_assertion_type: FormText = "",
    client_assertion: FormText = "",
) -> dict[str, str]:
    """How the portal authenticates (when not by HTTP Basic): client_secret_post,
    private_key_jwt, or a public client's ``client_id``."""
    fields = {"client_id": client_id, "client_secret": client_secret,
              "client_assertion_type": client_assertion_type,
              "client_assertion": client_assertion}  # fmt: skip
    return {name: value for name, value in fields.items() if value}


ClientFields = Annotated[dict[str, str], Depends(_client_fields)]


def _call(request: Request, runtime: RuntimeDep, path: str, form: dict[str, str]) -> TokenRequest:
    endpoint = f"{runtime.urls.base}/csc/v2/oauth2/{path}"
    return TokenRequest(form=form, basic=basic_credentials(request), endpoint=endpoint)


@router.post("/token", response_model=None, summary="CSC OAuth 2.0: a code for an access token")
def token(
    request: Request,
    runtime: RuntimeDep,
    services: ServicesDep,
    client: ClientFields,
    grant_type: FormText = "",
    code: FormText = "",
    redirect_uri: FormText = "",
    code_verifier: FormText = "",
) -> Response:
    asked = {"grant_type": grant_type, "code": code, "redirect_uri": redirect_uri,
             "code_verifier": code_verifier}  # fmt: skip
    form = client | {name: value for name, value in asked.items() if value}
    issued = flows.token(services, _call(request, runtime, "token", form))
    return JSONResponse(issued, headers={"Cache-Control": "no-store"})


@router.post("/revoke", response_model=None, summary="CSC OAuth 2.0: end a token (RFC 7009)")
def revoke(
    request: Request,
    runtime: RuntimeDep,
    services: ServicesDep,
    client: ClientFields,
    token: FormText = "",
    token_type_hint: FormText = "",
) -> Response:
    """200 whether or not the token was known (RFC 7009 2.2); ``token_type_hint`` is not
    needed (codes and tokens are told apart by what they are)."""
    flows.revoke(services, _call(request, runtime, "revoke", client | {"token": token}))
    return Response(status_code=200, headers={"Cache-Control": "no-store"})
