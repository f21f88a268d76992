"""Invoice totals in Vietnamese words."""

from __future__ import annotations

import pytest

from kernel.vietnamese_words import dong_in_words


@pytest.mark.parametrize(
    ("amount", "words"),
    [
        (0, "Không đồng"),
        (5, "Năm đồng"),
        (10, "Mười đồng"),
        (15, "Mười lăm đồng"),
        (21, "Hai mươi mốt đồng"),
        (24, "Hai mươi bốn đồng"),
        (105, "Một trăm linh năm đồng"),
        (110, "Một trăm mười đồng"),
        (4_000, "Bốn nghìn đồng"),
        (105_000, "Một trăm linh năm nghìn đồng"),
        (1_000_000, "Một triệu đồng"),
        (1_005_000, "Một triệu không trăm linh năm nghìn đồng"),
        (1_000_005, "Một triệu không trăm linh năm đồng"),
        (2_015_500, "Hai triệu không trăm mười lăm nghìn năm trăm đồng"),
        (1_650_000, "Một triệu sáu trăm năm mươi nghìn đồng"),
        (1_000_000_000, "Một tỷ đồng"),
        (2_000_050_000, "Hai tỷ không trăm năm mươi nghìn đồng"),
        (1_000_000_000_000, "Một nghìn tỷ đồng"),
    ],
)
def test_an_amount_reads_as_an_invoice_writes_it(amount: int, words: str) -> None:
    assert dong_in_words(amount) == words


def test_a_negative_amount_is_not_read() -> None:
    with pytest.raises(ValueError, match="from 0"):
        dong_in_words(-1)
