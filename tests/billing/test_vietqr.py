"""The VietQR payload, the payment code and the bank statement format, without a server."""

from __future__ import annotations

import pytest

from billing.errors import InvalidBillingInput
from billing.payment_code import account_id_prefix, codes_in, payment_code
from billing.statement import parse_statement
from billing.vietqr import BankAccount, payload
from tests.support.emv import crc_is_right, tlv

BANK = BankAccount(bank_name="Vietcombank", bin="970436", number="0011001234567", holder="KYSO")


@pytest.mark.parametrize("amount", [None, 100_000])
def test_the_payload_carries_napas_fields_and_a_right_crc(amount: int | None) -> None:
    text = payload(BANK, purpose="KYSO3F2A9C1B4D7E", amount=amount)
    assert crc_is_right(text)
    root = tlv(text)
    assert (root["00"], root["53"], root["58"]) == ("01", "704", "VN")
    assert root["01"] == ("11" if amount is None else "12")
    assert root.get("54") == (None if amount is None else "100000")
    merchant = tlv(root["38"])
    assert (merchant["00"], merchant["02"]) == ("A000000727", "QRIBFTTA")
    assert tlv(merchant["01"]) == {"00": "970436", "01": "0011001234567"}
    assert tlv(root["62"]) == {"08": "KYSO3F2A9C1B4D7E"}
    assert list(root) == sorted(root), "EMV data objects go in the order of their IDs"


@pytest.mark.parametrize("purpose", ["KYSO user@example.vn", "ký số", "", "A" * 26])
def test_a_description_banks_would_strip_is_refused(purpose: str) -> None:
    with pytest.raises(InvalidBillingInput):
        payload(BANK, purpose=purpose)


def test_a_payment_code_is_short_upper_case_and_found_in_what_banks_write() -> None:
    account_id = "3f2a9c1b-4d7e-4a1b-9c2d-0123456789ab"
    code = payment_code(account_id)
    assert code == "KYSO3F2A9C1B4D7E"
    assert code.isalnum()
    assert code.isupper()
    assert len(code) <= 16
    assert account_id.startswith(account_id_prefix(code))
    for written in ("MBVCB.123.kyso3f2a9c1b4d7e.CT tu 0123", "KYSO 3F2A 9C1B-4D7E", code):
        assert codes_in(written) == [code]
    assert codes_in("KYSO user@example.vn") == []


def test_a_statement_is_read_and_a_wrong_one_is_refused_naming_its_line() -> None:
    text = (
        "\ufeffdate,amount,description,bank_transaction_id\n"
        '2026-12-05,100000,KYSO3F2A9C1B4D7E,FT1\n2026-12-05,"-5.000",phi,FT2\n'
    ).encode()
    first, second = parse_statement(text)
    assert (first.amount, first.transaction_id, second.amount) == (100_000, "FT1", -5_000)
    with pytest.raises(InvalidBillingInput, match="line 3"):
        parse_statement(b"date,amount,description,bank_transaction_id\n"
                        b"2026-12-05,1,a,FT1\n2026-13-01,1,b,FT2\n")  # fmt: skip
    with pytest.raises(InvalidBillingInput, match="twice"):
        parse_statement(b"date,amount,description,bank_transaction_id\n"
                        b"2026-12-05,1,a,FT1\n2026-12-05,1,b,FT1\n")  # fmt: skip
    with pytest.raises(InvalidBillingInput, match="first line"):
        parse_statement(b"ngay,so tien\n")
    (named,) = parse_statement(b"reference,description,amount,date,balance\n"
                               b"FT9,KYSO3F2A9C1B4D7E,5000,2026-12-05,1\n")  # fmt: skip
    assert (named.transaction_id, named.amount, named.description) == (
        "FT9",
        5000,
        "KYSO3F2A9C1B4D7E",
    )
