"""Administration over the API: organisations, API keys, token keys, OpenID Connect clients,
the audit chain."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field
from sqlmodel import col, select

from api.deps import ReadSessionDep, ServicesDep, require_roles
from api.schemas import ApiKeyCreated, ApiKeyOut, NewApiKey, NewOrganisation, OrganisationOut
from api.usecases import accounts, administration, oidc
from api.usecases.accounts import CreateOrganisation
from api.usecases.administration import CreateApiKey, RevokeApiKey, RotateTokenKey
from api.usecases.oidc import RegisterClient
from identity.audit import verify_audit_chain
from identity.models import ApiKey, Role
from identity.sessions import API_KEY_ROLES, Principal

__all__ = ["router"]

router = APIRouter(prefix="/v1", tags=["administration"])

Admin = Annotated[Principal, Depends(require_roles(Role.ADMIN.value))]
KeyManager = Annotated[Principal, Depends(require_roles(Role.ADMIN.value, *API_KEY_ROLES))]


@router.post("/admin/organisations", status_code=201, summary="Create an agency or company")
def new_organisation(body: NewOrganisation, admin: Admin, services: ServicesDep) -> OrganisationOut:
    command = CreateOrganisation(name=body.name, kind=body.kind, actor=f"user:{admin.user.id}",
                                 tax_code=body.tax_code, address=body.address)  # fmt: skip
    organisation = accounts.create_organisation_with_account(services, command)
    return OrganisationOut.model_validate(organisation)


@router.post("/admin/token-keys/rotate", summary="Rotate the access-token signing key")
def rotate_token_key(admin: Admin, services: ServicesDep) -> dict[str, str]:
    kid = administration.rotate_token_key(services, RotateTokenKey(actor=f"user:{admin.user.id}"))
    return {"kid": kid}


@router.get("/admin/audit/verify", summary="Walk the audit hash chain")
def audit_verify(admin: Admin, session: ReadSessionDep) -> dict[str, object]:
    verdict = verify_audit_chain(session)
    return {"intact": verdict.intact, "records": verdict.records, "problem": verdict.problem}


@router.post("/api-keys", status_code=201, summary="A key for an agency system (shown once)")
def new_api_key(body: NewApiKey, caller: KeyManager, services: ServicesDep) -> ApiKeyCreated:
    command = CreateApiKey(owner=caller.user, name=body.name, roles=body.roles,
                           through_api_key=caller.via == "api_key")  # fmt: skip
    key, plain = administration.create_key(services, command)
    return ApiKeyCreated(**ApiKeyOut.model_validate(key).model_dump(), key=plain)


@router.get("/api-keys", summary="Your API keys (admins: all)")
def list_api_keys(caller: KeyManager, session: ReadSessionDep) -> list[ApiKeyOut]:
    query = select(ApiKey).order_by(col(ApiKey.created_at).desc())
    if Role.ADMIN.value not in caller.roles:
        query = query.where(ApiKey.owner_id == caller.user.id)
    return [ApiKeyOut.model_validate(k) for k in session.exec(query)]


@router.delete("/api-keys/{key_id}", summary="Revoke an API key")
def delete_api_key(key_id: str, caller: KeyManager, services: ServicesDep) -> ApiKeyOut:
    key = administration.revoke_key(
        services, RevokeApiKey(key_id=key_id, by=caller.user, roles=caller.roles)
    )
    return ApiKeyOut.model_validate(key)


class OidcClientIn(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    redirect_uris: list[str] = Field(min_length=1, max_length=10)
    public: bool = False
    scopes: list[str] = Field(default_factory=lambda: ["openid", "profile", "email"])
    id_token_alg: str = "ES256"  # noqa: S105 - an algorithm name
    jwks: dict[str, Any] | None = None


@router.post("/admin/oidc-clients", status_code=201, summary="Register an OpenID Connect client")
def new_oidc_client(body: OidcClientIn, admin: Admin, services: ServicesDep) -> dict[str, Any]:
    command = RegisterClient(
        name=body.name, redirect_uris=body.redirect_uris, public=body.public,
        scopes=body.scopes, id_token_alg=body.id_token_alg, jwks=body.jwks,
        actor=f"user:{admin.user.id}",
    )  # fmt: skip
    client, secret = oidc.register(services, command)
    created: dict[str, Any] = {
        "client_id": client.id,
        "name": client.name,
        "public": client.public,
        "scopes": client.scopes.split(),
    }
    if secret:
        created["client_secret"] = secret
    return created
