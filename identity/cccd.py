"""The 12-digit citizen identity number (CCCD) and what it encodes.

Layout (Circular 07/2016/TT-BCA, art. 7): 3 digits province of birth registration, 1 digit
century and gender, 2 digits the last two digits of the birth year, 6 random digits.
"""

from __future__ import annotations

import enum
from datetime import date

__all__ = ["PROVINCE_CODES", "Gender", "cccd_errors"]


class Gender(enum.StrEnum):
    MALE = "male"
    FEMALE = "female"


PROVINCE_CODES: dict[str, str] = {
    "001": "Hà Nội", "002": "Hà Giang", "004": "Cao Bằng", "006": "Bắc Kạn",
    "008": "Tuyên Quang", "010": "Lào Cai", "011": "Điện Biên", "012": "Lai Châu",
    "014": "Sơn La", "015": "Yên Bái", "017": "Hòa Bình", "019": "Thái Nguyên",
    "020": "Lạng Sơn", "022": "Quảng Ninh", "024": "Bắc Giang", "025": "Phú Thọ",
    "026": "Vĩnh Phúc", "027": "Bắc Ninh", "030": "Hải Dương", "031": "Hải Phòng",
    "033": "Hưng Yên", "034": "Thái Bình", "035": "Hà Nam", "036": "Nam Định",
    "037": "Ninh Bình", "038": "Thanh Hóa", "040": "Nghệ An", "042": "Hà Tĩnh",
    "044": "Quảng Bình", "045": "Quảng Trị", "046": "Thừa Thiên Huế", "048": "Đà Nẵng",
    "049": "Quảng Nam", "051": "Quảng Ngãi", "052": "Bình Định", "054": "Phú Yên",
    "056": "Khánh Hòa", "058": "Ninh Thuận", "060": "Bình Thuận", "062": "Kon Tum",
    "064": "Gia Lai", "066": "Đắk Lắk", "067": "Đắk Nông", "068": "Lâm Đồng",
    "070": "Bình Phước", "072": "Tây Ninh", "074": "Bình Dương", "075": "Đồng Nai",
    "077": "Bà Rịa - Vũng Tàu", "079": "Hồ Chí Minh", "080": "Long An", "082": "Tiền Giang",
    "083": "Bến Tre", "084": "Trà Vinh", "086": "Vĩnh Long", "087": "Đồng Tháp",
    "089": "An Giang", "091": "Kiên Giang", "092": "Cần Thơ", "093": "Hậu Giang",
    "094": "Sóc Trăng", "095": "Bạc Liêu", "096": "Cà Mau",
}  # fmt: skip
"""The 63 province codes, as numbers issued before the 2025 mergers still carry them."""

# Century of birth -> the code digits for (male, female).
_CENTURY_DIGITS = {1900: (0, 1), 2000: (2, 3), 2100: (4, 5), 2200: (6, 7), 2300: (8, 9)}


def cccd_errors(cccd: str, date_of_birth: date | None, gender: Gender | None) -> list[str]:
    """Every rule the number breaks, in words a citizen understands; empty when valid."""
    if len(cccd) != 12 or not cccd.isascii() or not cccd.isdigit():
        return ["the CCCD number must be exactly 12 digits"]
    errors = []
    if cccd[:3] not in PROVINCE_CODES:
        errors.append(f"{cccd[:3]} is not a province code")
    if date_of_birth is not None and gender is not None:
        century = date_of_birth.year // 100 * 100
        male, female = _CENTURY_DIGITS.get(century, (-1, -1))
        expected = male if gender is Gender.MALE else female
        if int(cccd[3]) != expected:
            errors.append(
                f"the 4th digit {cccd[3]} does not match a {gender.value} born in "
                f"{date_of_birth.year} (expected {expected})"
            )
    if date_of_birth is not None and cccd[4:6] != f"{date_of_birth.year % 100:02d}":
        errors.append(
            f"digits 5-6 ({cccd[4:6]}) must be the birth year's last two digits "
            f"({date_of_birth.year % 100:02d})"
        )
    return errors
