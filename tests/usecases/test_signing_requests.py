"""Signing requests without HTTP: who pays for a sponsored signature, and a request nobody
opened lapsing in housekeeping (it then signs nothing)."""

from __future__ import annotations

import secrets
from dataclasses import replace
from datetime import timedelta

import pytest
from sqlmodel import select

from api.usecases import accounts, oidc, signing_requests
from api.usecases.accounts import CreateOrganisation
from api.usecases.oidc import RegisterClient
from api.usecases.signing_requests import AskToSign, ConfigurePortal, PortalCaller, SignAll
from billing.models import UsageEvent
from identity.errors import SigningRequestClosed
from identity.models import Organisation, SigningRequest
from tests.usecases.conftest import PIN, Installation


def _portal(installation: Installation) -> tuple[PortalCaller, Organisation]:
    services = installation.services
    name = f"Cổng DVC {secrets.token_hex(3)}"
    organisation = accounts.create_organisation_with_account(
        services, CreateOrganisation(name=name, kind="agency", actor="test")
    )
    client, secret = oidc.register(services, RegisterClient(
        name=name, redirect_uris=["https://dvc.example.vn/back"], scopes=["openid"],
        actor="test"))  # fmt: skip
    signing_requests.configure_portal(services, ConfigurePortal(
        client_id=client.id, payer_organisation_id=organisation.id, webhook_urls=[],
        actor="test"))  # fmt: skip
    return PortalCaller(client_id=client.id, client_secret=secret), organisation


def test_a_sponsored_signature_is_charged_to_the_sponsor_in_its_transaction(
    installation: Installation,
) -> None:
    _, organisation = _portal(installation)
    user, _ = installation.citizen(funds=0)  # an empty wallet: only the sponsor can pay
    signed = installation.sign(user, sponsor=organisation.id)
    with installation.services.reading() as session:
        event = session.exec(
            select(UsageEvent).where(UsageEvent.signature_id == signed.record.id)
        ).one()
    assert (event.account_id, event.user_id) == (organisation.id, user.id)


def test_an_overdue_request_lapses_in_housekeeping_and_signs_nothing(
    installation: Installation,
) -> None:
    services = installation.services
    portal, _ = _portal(installation)
    user, _ = installation.citizen()
    asked = signing_requests.ask(services, AskToSign(
        portal=portal, cccd=user.cccd, purpose="Tờ khai", payer="sponsor", expires_in=60,
        return_url="https://dvc.example.vn/back",
        documents=[{"folder": "f" * 24, "draft": "d" * 24, "filename": "a.pdf"}]))  # fmt: skip
    later = services.clock() + timedelta(minutes=2)
    assert signing_requests.lapse_overdue(replace(services, clock=lambda: later)) >= 1
    with services.reading() as session:
        found = session.get(SigningRequest, asked.id)
        assert found is not None
        assert found.state == "expired"
    command = SignAll(user=user, request_id=asked.id, pin=PIN, documents=[])
    with pytest.raises(SigningRequestClosed):
        signing_requests.sign_all(services, command, installation.directory)
