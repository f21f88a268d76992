"""The other use cases that cross domains, without HTTP, over a real database of each
backend: a top-up recorded once per reference, a pack refused to an organisation's member, a
period that has not ended, an operator's revocation (the CA's record, the credential ended with
its key, a fresh CRL), a verification metered at its price, and books that add up."""

from __future__ import annotations

import secrets
from datetime import date
from pathlib import Path

import pytest
from asn1crypto import crl as asn1_crl
from sqlmodel import select

from api.usecases import accounts, buy_pack, check_ledger, close_period, revoke, top_up, verify
from api.usecases.accounts import CreateOrganisation, CreateUser
from api.usecases.buy_pack import BuyPack
from api.usecases.close_period import ClosePeriod
from api.usecases.crl import current_crl
from api.usecases.revoke import RevokeCertificate
from api.usecases.top_up import RecordTopUp
from api.usecases.verify import VerifyDocument
from billing.calendar import month_key
from billing.errors import OrganisationMoney, PeriodNotOver
from billing.models import UsageEvent
from certs.errors import AlreadyRevoked
from identity.accounts import NewUser
from identity.cccd import Gender
from identity.models import Credential, CredentialStatus, Role
from tests.usecases.conftest import PASSWORD, Installation


def test_a_payment_reference_records_once(installation: Installation) -> None:
    user, _ = installation.citizen(funds=0)
    command = RecordTopUp(email=user.email, amount=50_000, reference=f"VCB-{user.id[:8]}",
                          actor="billing-staff")  # fmt: skip
    first = top_up.record_top_up(installation.services, command)
    again = top_up.record_top_up(installation.services, command)
    assert (first.recorded, again.recorded) == (True, False)
    assert (first.balance, again.balance) == (50_000, 50_000)
    assert again.entry.id == first.entry.id


def test_an_organisations_member_cannot_buy_a_personal_pack(installation: Installation) -> None:
    services = installation.services
    name = f"Sở {secrets.token_hex(3)}"
    accounts.create_organisation_with_account(
        services, CreateOrganisation(name=name, kind="agency", actor="test")
    )
    member = accounts.create_user_account(services, CreateUser(
        new=NewUser(email=f"can-bo-{secrets.token_hex(3)}@so.gov.vn", password=PASSWORD,
                    full_name="Trần Bình", role=Role.CITIZEN, cccd=f"0010850{secrets.randbelow(10**5):05d}",
                    date_of_birth=date(1985, 3, 9), gender=Gender.MALE),
        actor="test", verified=True, organisation_name=name))  # fmt: skip
    with pytest.raises(OrganisationMoney):
        buy_pack.buy(services, BuyPack(user=member, pack="pack-10"))


def test_the_current_month_cannot_be_closed(installation: Installation) -> None:
    period = month_key(installation.services.clock())
    with pytest.raises(PeriodNotOver):
        close_period.close(installation.services, ClosePeriod(period=period, actor="test"))


def test_an_operators_revocation_ends_the_credential_and_publishes_a_crl(
    installation: Installation,
) -> None:
    services = installation.services
    _, credential_id = installation.citizen(funds=0)
    with services.reading() as session:
        credential = session.get(Credential, credential_id)
        assert credential is not None
    command = RevokeCertificate(serial=credential.serial, reason="keyCompromise", actor="op")
    done = revoke.revoke_certificate(services, command)
    assert (done.serial, done.reason) == (credential.serial, "keyCompromise")
    with services.reading() as session:
        ended = session.get(Credential, credential_id)
        assert ended is not None
        assert (ended.status, ended.sealed_by_pin, ended.sealed_by_puk) == (
            CredentialStatus.REVOKED.value, None, None,
        )  # fmt: skip
    crl = asn1_crl.CertificateList.load(current_crl(services, "issuing"))
    assert crl.crl_number_value.native >= done.crl_number
    revoked = {format(r["user_certificate"].native, "x") for r in crl["tbs_cert_list"]["revoked_certificates"]}  # fmt: skip
    assert credential.serial in revoked
    with pytest.raises(AlreadyRevoked):
        revoke.revoke_certificate(services, command)


def test_a_verification_is_metered_and_the_books_add_up(installation: Installation) -> None:
    services = installation.services
    user, _ = installation.citizen(funds=10_000)
    signed = installation.sign(user, level="B-T")
    received = installation.received(Path(signed.path).read_bytes())
    command = VerifyDocument(user=user, path=received.path, filename="đơn đã ký.pdf")
    report = verify.verify(services, command)
    assert report.indication == "TOTAL_PASSED"
    assert report.file["name"] == "đơn đã ký.pdf"
    with services.reading() as session:
        metered = session.exec(
            select(UsageEvent).where(UsageEvent.user_id == user.id,
                                     UsageEvent.product == "verification")
        ).all()  # fmt: skip
    assert [e.amount for e in metered] == [0]
    _, findings = check_ledger.check_ledger(services)
    assert findings == []
