"""An organisation's tax code and address reach its invoice as the buyer's (Decree
123/2020/ND-CP: the buyer's tax code and address when given), over a real database of each
backend; a malformed tax code is refused before anything is written."""

from __future__ import annotations

import secrets
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest

from api.billing_views import invoice_pdf_response
from api.usecases import accounts, close_period
from api.usecases.accounts import CreateOrganisation
from api.usecases.close_period import ClosePeriod
from billing.accounts import ORGANISATION
from billing.charges import Payer, charge
from identity.errors import InvalidField
from tests.usecases.conftest import Installation

PAST = datetime(2024, 2, 14, 3, 0, tzinfo=UTC)


def test_an_organisations_tax_code_and_address_are_the_buyers_on_its_invoice(
    installation: Installation, tmp_path: Path
) -> None:
    services = installation.services
    organisation = accounts.create_organisation_with_account(services, CreateOrganisation(
        name=f"Công ty Sông Hồng {secrets.token_hex(3)}", kind="company", actor="test",
        tax_code="0312345678-001", address="  12 Phan Đình Phùng,  Ba Đình, Hà Nội "))  # fmt: skip
    assert organisation.address == "12 Phan Đình Phùng, Ba Đình, Hà Nội"
    payer = Payer(account_id=organisation.id, kind=ORGANISATION, label=organisation.name,
                  user_id=installation.officer.id)  # fmt: skip
    with services.unit_of_work() as session:
        charge(session, payer, "timestamp", now=PAST)  # 500 ₫: a month worth an invoice
    closed = close_period.close(services, ClosePeriod(period="2024-02", actor="test"))
    (invoice,) = [i for i in closed.invoices if i.account_id == organisation.id]
    with services.reading() as session:
        pdf = invoice_pdf_response(session, services.runtime.settings, invoice.id).body
    path = tmp_path / "hoa-don.pdf"
    path.write_bytes(bytes(pdf))
    text = " ".join(subprocess.run(["pdftotext", "-layout", str(path), "-"], check=True,
                                   capture_output=True, text=True).stdout.split())  # fmt: skip
    for expected in (f"Người mua hàng: {organisation.name}", "Mã số thuế người mua: 0312345678-001",
                     "Địa chỉ người mua: 12 Phan Đình Phùng, Ba Đình, Hà Nội"):  # fmt: skip
        assert expected in text, f"{expected!r} not in:\n{text}"


@pytest.mark.parametrize("tax_code", ["12345", "031234567A", "0312345678-1"])
def test_a_malformed_tax_code_is_refused(installation: Installation, tax_code: str) -> None:
    with pytest.raises(InvalidField):
        accounts.create_organisation_with_account(installation.services, CreateOrganisation(
            name=f"Sai {secrets.token_hex(3)}", kind="company", actor="test",
            tax_code=tax_code))  # fmt: skip
