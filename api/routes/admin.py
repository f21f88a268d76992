"""Administration over the API: organisations, API keys, token keys, the audit chain."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field
from sqlmodel import col, select

from api.deps import IdentityDep, SessionDep, require_roles, utc_now
from api.schemas import ApiKeyCreated, ApiKeyOut, NewApiKey, NewOrganisation, OrganisationOut
from billing.accounts import ORGANISATION, open_account
from identity.accounts import create_organisation
from identity.audit import record_audit, verify_audit_chain
from identity.errors import AccessDenied
from identity.models import ApiKey, Role
from identity.oidc import register_client
from identity.sessions import API_KEY_ROLES, Principal, create_api_key, revoke_api_key

__all__ = ["router"]

router = APIRouter(prefix="/v1", tags=["administration"])

Admin = Annotated[Principal, Depends(require_roles(Role.ADMIN.value))]
KeyManager = Annotated[Principal, Depends(require_roles(Role.ADMIN.value, *API_KEY_ROLES))]


@router.post("/admin/organisations", status_code=201, summary="Create an agency or company")
def new_organisation(body: NewOrganisation, admin: Admin, session: SessionDep) -> OrganisationOut:
    now = utc_now()
    organisation = create_organisation(
        session, name=body.name, kind=body.kind, now=now, actor=f"user:{admin.user.id}"
    )
    open_account(session, organisation.id, kind=ORGANISATION, label=organisation.name, now=now)
    return OrganisationOut.model_validate(organisation)


@router.post("/admin/token-keys/rotate", summary="Rotate the access-token signing key")
def rotate_token_key(admin: Admin, session: SessionDep, identity: IdentityDep) -> dict[str, str]:
    now = utc_now()
    row = identity.tokens.rotate(session, now)
    record_audit(
        session, at=now, actor=f"user:{admin.user.id}", action="token_key.rotate", target=row.kid
    )
    return {"kid": row.kid}


@router.get("/admin/audit/verify", summary="Walk the audit hash chain")
def audit_verify(admin: Admin, session: SessionDep) -> dict[str, object]:
    verdict = verify_audit_chain(session)
    return {"intact": verdict.intact, "records": verdict.records, "problem": verdict.problem}


@router.post("/api-keys", status_code=201, summary="A key for an agency system (shown once)")
def new_api_key(body: NewApiKey, caller: KeyManager, session: SessionDep) -> ApiKeyCreated:
    if caller.via == "api_key":
        raise AccessDenied("an API key cannot create API keys")
    key, plain = create_api_key(
        session,
        owner=caller.user,
        name=body.name,
        roles=body.roles,
        now=utc_now(),
        actor=f"user:{caller.user.id}",
    )
    return ApiKeyCreated(**ApiKeyOut.model_validate(key).model_dump(), key=plain)


@router.get("/api-keys", summary="Your API keys (admins: all)")
def list_api_keys(caller: KeyManager, session: SessionDep) -> list[ApiKeyOut]:
    query = select(ApiKey).order_by(col(ApiKey.created_at).desc())
    if Role.ADMIN.value not in caller.roles:
        query = query.where(ApiKey.owner_id == caller.user.id)
    return [ApiKeyOut.model_validate(k) for k in session.exec(query)]


@router.delete("/api-keys/{key_id}", summary="Revoke an API key")
def delete_api_key(key_id: str, caller: KeyManager, session: SessionDep) -> ApiKeyOut:
    return ApiKeyOut.model_validate(
        revoke_api_key(session, key_id=key_id, by=caller.user, now=utc_now())
    )


class OidcClientIn(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    redirect_uris: list[str] = Field(min_length=1, max_length=10)
    public: bool = False
    scopes: list[str] = Field(default_factory=lambda: ["openid", "profile", "email"])
    id_token_alg: str = "ES256"  # noqa: S105 - an algorithm name
    jwks: dict[str, Any] | None = None


@router.post("/admin/oidc-clients", status_code=201, summary="Register an OpenID Connect client")
def new_oidc_client(body: OidcClientIn, admin: Admin, session: SessionDep) -> dict[str, Any]:
    client, secret = register_client(
        session,
        name=body.name,
        redirect_uris=body.redirect_uris,
        public=body.public,
        scopes=body.scopes,
        id_token_alg=body.id_token_alg,
        jwks=body.jwks,
        now=utc_now(),
        actor=f"user:{admin.user.id}",
    )
    created: dict[str, Any] = {
        "client_id": client.id,
        "name": client.name,
        "public": client.public,
        "scopes": client.scopes.split(),
    }
    if secret:
        created["client_secret"] = secret
    return created
