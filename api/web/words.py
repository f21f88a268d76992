"""The pages' words: written in Vietnamese, with an English rendering of each phrase, and
every refusal explained in words a citizen understands (by its stable error code)."""

from __future__ import annotations

from typing import Any, Literal

from api.web.english import ENGLISH

__all__ = [
    "CHANGE_WORDS",
    "ENTRY_WORDS",
    "ERROR_WORDS",
    "FIELD_WORDS",
    "PRODUCT_WORDS",
    "REASON_WORDS",
    "REVOCATION_WORDS",
    "TIER_WORDS",
    "Language",
    "explain",
    "explain_field",
    "funding_phrase",
    "language_from_header",
    "tier_phrase",
    "translate",
]

Language = Literal["vi", "en"]


def language_from_header(header: str | None) -> Language:
    """The browser's first preference between Vietnamese and English (Vietnamese otherwise)."""
    best: tuple[float, Language] = (-1.0, "vi")
    for position, item in enumerate((header or "").split(",")):
        tag, _, params = item.strip().lower().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                quality = 0.0
        if quality <= 0:  # q=0 means "not this one"
            continue
        for lang in ("vi", "en"):
            if (tag == lang or tag.startswith(lang + "-")) and quality - position * 1e-3 > best[0]:
                best = (quality - position * 1e-3, lang)
    return best[1]


def translate(text: str, lang: Language, **values: Any) -> str:
    """``text`` (Vietnamese) in ``lang``; an untranslated phrase stays Vietnamese."""
    chosen = ENGLISH.get(text, text) if lang == "en" else text
    return chosen.format(**values) if values else chosen


ERROR_WORDS: dict[str, str] = {
    "auth.invalid_credentials": "Sai địa chỉ email hoặc mật khẩu.",
    "auth.otp_required": "Tài khoản của bạn dùng mã một lần: hãy nhập mã 6 chữ số từ ứng dụng xác thực.",
    "auth.throttled": "Bạn đã nhập sai nhiều lần. Vui lòng đợi {retry_after} giây rồi thử lại.",
    "auth.locked": "Bạn đã nhập sai quá nhiều lần: tài khoản tạm khoá 15 phút để bảo vệ bạn.",
    "auth.forbidden": "Vai trò của bạn không được làm việc này.",
    "identity.invalid_field": "Một số thông tin chưa đúng, vui lòng xem lại các ô được đánh dấu.",
    "identity.already_exists": "Việc này đã được làm trước đó: {detail}.",
    "identity.not_found": "Không tìm thấy.",
    "identity.level_too_low": "Danh tính của bạn chưa được xác minh. Hãy mang thẻ CCCD đến cán bộ đăng ký.",
    "credential.not_found": "Bạn chưa có chứng thư ký số. Hãy tạo chứng thư trước khi ký.",
    "credential.unusable": "Chứng thư ký số này không dùng được nữa (đã hết hạn hoặc bị thu hồi).",
    "credential.locked": "Mã PIN bị khoá vì nhập sai quá nhiều lần. Dùng mã PUK để mở khoá.",
    "credential.reset_needs_officer": "Chưa dùng mã xác thực hai lớp thì mật khẩu thôi không đủ để đặt lại mã PIN: hãy mang thẻ CCCD đến gặp cán bộ đăng ký, rồi đặt lại trong vòng một ngày.",
    "credential.busy": "Đang có yêu cầu ký khác chờ kiểm tra PIN. Vui lòng thử lại sau giây lát.",
    "credential.wrong_pin": "Mã PIN không đúng (còn {attempts_left} lần thử trước khi bị khoá). Tài liệu chưa được ký và bạn không bị trừ tiền.",
    "billing.insufficient_funds": "Số dư ví không đủ cho chữ ký này; bạn chưa bị trừ tiền. Hãy nạp thêm tiền (chuyển khoản hoặc quét mã VietQR ở trang Ví). Hồ sơ nộp dịch vụ công được miễn phí vài chữ ký mỗi tháng: đánh dấu “Hồ sơ nộp cho dịch vụ công” khi ký.",
    "billing.invalid_input": "Thông tin chưa hợp lệ: {detail}.",
    "billing.account_not_found": "Không tìm thấy tài khoản thanh toán.",
    "billing.reference_conflict": "Mã tham chiếu này đã được dùng cho một khoản khác.",
    "billing.period_not_over": "Tháng này chưa kết thúc.",
    "billing.period_closed": "Tháng này đã chốt hoá đơn.",
    "billing.credit_exceeds_invoice": "Số tiền giảm trừ vượt quá phần còn lại của hoá đơn.",
    "billing.invoice_not_found": "Không tìm thấy hoá đơn.",
    "billing.reservation_lost": "Yêu cầu ký xử lý quá lâu nên khoản giữ chỗ đã hết hạn. Bạn chưa bị trừ tiền; hãy ký lại.",
    "signing.not_a_pdf": "Tệp này không phải PDF. Hãy chọn một tệp PDF.",
    "signing.unparsable_pdf": "Không đọc được tệp PDF này (tệp hỏng hoặc không đầy đủ). Hãy mở tệp bằng phần mềm đọc PDF, lưu hoặc in ra một tệp PDF mới, rồi tải tệp đó lên.",
    "signing.encrypted_pdf": "Tệp PDF này cần mật khẩu (hoặc chứng thư) mới mở được. Hãy mở tệp bằng mật khẩu của bạn, lưu hoặc in ra một tệp PDF mới không có mật khẩu, rồi tải tệp đó lên.",
    "signing.unsupported_protection": "Tệp PDF này mở được không cần mật khẩu, nhưng có giới hạn quyền do người tạo đặt theo cách kyso không giữ được khi ký (ví dụ AES-256 của Acrobat 9). Hãy xin bên gửi một bản không đặt bảo vệ, hoặc lưu hay in ra một tệp PDF mới rồi tải tệp đó lên.",
    "signing.restricted_pdf": "Người tạo tệp PDF này không cho phép điền biểu mẫu hay ký vào tệp. Hãy xin bên gửi một bản cho phép ký.",
    "signing.dynamic_xfa": "Tệp này là biểu mẫu XFA động: phần mềm đọc vẽ nội dung từ mẫu biểu chứ không từ trang sẽ được ký. Hãy điền xong, in ra tệp PDF rồi ký tệp đó.",
    "signing.earlier_signature_fails": "Một chữ ký trước đó trong tài liệu này đã không còn hợp lệ. Bạn chưa bị trừ tiền; nếu vẫn muốn ký, hãy xác nhận.",
    "signing.hostile_pdf": "Tệp PDF này có cấu trúc bất thường nên không thể ký an toàn.",
    "signing.too_many_pages": "Tệp PDF có quá nhiều trang.",
    "signing.no_such_page": "Tài liệu không có trang này.",
    "signing.invalid_placement": "Vị trí con dấu nằm ngoài trang. Hãy bấm vào bên trong trang.",
    "signing.field_unusable": "Ô chữ ký này không dùng được.",
    "signing.invalid_option": "Lựa chọn ký không hợp lệ.",
    "signing.tsa_unavailable": "Dịch vụ cấp dấu thời gian đang tạm gián đoạn. Bạn chưa bị trừ tiền; hãy thử lại.",
    "signing.not_found": "Không tìm thấy chữ ký này.",
    "signing.document_purged": "Tài liệu đã ký đã bị xoá sau thời hạn lưu trữ.",
    "signing.attempt_taken_over": "Yêu cầu ký này đã được một lần gửi lại tiếp nhận. Hãy tải lại trang để xem kết quả.",
    "request.idempotency_conflict": "Biểu mẫu này đã được gửi với nội dung khác. Hãy tải lại trang.",
    "request.in_progress": "Yêu cầu này đang được xử lý. Hãy đợi {retry_after} giây rồi tải lại trang.",
    "request.too_large": "Tệp quá lớn.",
    "verification.not_a_trust_anchor": "Đây không phải chứng thư CA gốc hợp lệ.",
    "verification.trust_anchor_not_found": "Không tìm thấy CA gốc này.",
    "certs.certificate_not_found": "Không tìm thấy chứng thư có số sê-ri này.",
    "certs.already_revoked": "Chứng thư này đã bị thu hồi.",
    "certs.invalid_serial": "Số sê-ri không hợp lệ (chữ số hệ 16).",
    "certs.unknown_revocation_reason": "Lý do thu hồi không hợp lệ.",
}
"""Stable error code → what the person is told (Vietnamese; English in ``english.py``)."""


ERROR_LINKS: dict[str, tuple[tuple[str, str], ...]] = {
    "billing.insufficient_funds": (("/me/wallet#pay-in", "Nạp tiền vào ví"),),
    "credential.locked": (("/me/certificate#unlock", "Mở khoá bằng mã PUK"),
                          ("/me/certificate/reset", "Mất mã PUK?")),
}  # fmt: skip
"""Where a person goes next after these refusals: links shown with their words."""


def links_for(error: str, lang: Language) -> tuple[tuple[str, str], ...]:
    """The next steps for a refusal shown as ``error`` (its words, in ``lang``)."""
    for code, links in ERROR_LINKS.items():
        if error == translate(ERROR_WORDS[code], lang):
            return tuple((href, translate(words, lang)) for href, words in links)
    return ()


def explain(code: str, detail: str, lang: Language, fields: dict[str, Any] | None = None) -> str:
    """A refusal in the reader's words (with the error's values); the service's own sentence
    where none is written."""
    words = ERROR_WORDS.get(code)
    sentence = detail[:1].upper() + detail[1:] + ("" if detail.endswith(".") else ".")
    if words is None:
        return sentence
    try:
        return translate(words, lang, **{**(fields or {}), "detail": detail.rstrip(".")})
    except (KeyError, IndexError, ValueError):
        return sentence


FIELD_WORDS: dict[str, str] = {
    "full_name": "Nhập họ và tên như trên thẻ CCCD (chỉ chữ cái).",
    "email": "Nhập một địa chỉ email hợp lệ.",
    "phone": "Nhập số điện thoại Việt Nam, ví dụ 0912 345 678.",
    "date_of_birth": "Nhập ngày sinh như trên thẻ CCCD; bạn cần đủ 14 tuổi.",
    "gender": "Chọn giới tính như trên thẻ CCCD.",
    "pin": "Mã PIN cần 6 đến 8 chữ số, không lặp một chữ số, không phải dãy liên tiếp (như 123456), không quá dễ đoán và không phải ngày sinh của bạn.",
    "cccd": "Số CCCD chưa khớp: đủ 12 chữ số, 3 số đầu là mã tỉnh, số thứ 4 theo giới tính và thế kỷ sinh, số thứ 5 và 6 là hai số cuối của năm sinh.",
}
"""Registration field → what to fix, for the fields whose rule is simple to say."""

_PASSWORD_WORDS = {
    "use at least 10 characters": "Mật khẩu cần ít nhất 10 ký tự.",
    "use at most 128 characters": "Mật khẩu dài tối đa 128 ký tự.",
    "the password must not be your e-mail address or CCCD number": "Mật khẩu không được là email hay số CCCD của bạn.",
    "the password is too simple": "Mật khẩu quá đơn giản.",
}


_KNOWN_FIELD_WORDS = {
    "an account with this e-mail address exists already": "Email này đã có tài khoản. Hãy đăng nhập, hoặc dùng email khác.",
    "an account with this CCCD number exists already": "Số CCCD này đã có tài khoản. Nếu đó là bạn, hãy đăng nhập.",
    **_PASSWORD_WORDS,
}


def explain_field(field: str, detail: str, lang: Language) -> str:
    """What is wrong with one form field, in the reader's words."""
    if detail in _KNOWN_FIELD_WORDS:
        return translate(_KNOWN_FIELD_WORDS[detail], lang)
    words = FIELD_WORDS.get(field)
    if words is None or (lang == "en" and field == "cccd"):  # the rule broken, said exactly
        return detail[:1].upper() + detail[1:] + ("" if detail.endswith(".") else ".")
    return translate(words, lang)


def funding_phrase(funding: str | None) -> str:
    """What paid for a charge, as a Vietnamese phrase (translated by the page)."""
    if not funding or funding == "wallet":
        return "trừ vào ví"
    if funding.startswith("pack"):
        return "trừ vào gói chữ ký"
    return {
        "allowance": "miễn phí: hồ sơ dịch vụ công",
        "quota": "trong hạn mức thuê bao",
        "none": "miễn phí",
    }.get(funding, funding)


ENTRY_WORDS: dict[str, str] = {
    "top_up": "Nạp tiền",
    "charge": "Trừ tiền dịch vụ",
    "subscription_fee": "Phí thuê bao tháng",
    "credit_note": "Hoàn tiền (giảm trừ hoá đơn)",
    "pack_purchase": "Mua gói chữ ký",
}
"""Wallet entry kind → Vietnamese."""

PRODUCT_WORDS: dict[str, str] = {
    "signature.B-B": "Chữ ký PAdES B-B",
    "signature.B-T": "Chữ ký PAdES B-T",
    "signature.B-LT": "Chữ ký PAdES B-LT",
    "signature.B-LTA": "Chữ ký PAdES B-LTA",
    "signature.hash": "Chữ ký qua CSC API",
    "certificate.issue": "Cấp chứng thư",
    "verification": "Xác minh chữ ký",
    "timestamp": "Dấu thời gian",
    "subscription.fee": "Phí thuê bao",
}
"""Billing product → Vietnamese."""


CHANGE_WORDS: dict[str, str] = {
    "none": "Không có",
    "validation_data": "Chỉ thêm dữ liệu kiểm tra chữ ký (hợp lệ)",
    "form_filling": "Điền biểu mẫu, thêm chữ ký",
    "annotations": "Thêm ghi chú, bình luận",
    "other": "Có thay đổi khác nội dung",
    "unknown": "Không xác định được",
}
"""What changed in a document after a signature (the report's ``modifications.level``)."""

REVOCATION_WORDS: dict[str, str] = {
    "good": "Còn hiệu lực, chưa bị thu hồi",
    "revoked": "Đã bị thu hồi",
    "unknown": "Không xác định",
    "not_checked": "Chưa kiểm tra được",
}
"""A certificate's revocation status at signing time."""


REASON_WORDS: dict[str, str] = {
    "unspecified": "Không nêu lý do",
    "keyCompromise": "Lộ khoá",
    "cACompromise": "CA bị xâm phạm",
    "affiliationChanged": "Thay đổi thông tin, đơn vị",
    "superseded": "Đã thay bằng chứng thư mới",
    "cessationOfOperation": "Ngừng sử dụng",
    "certificateHold": "Tạm dừng",
    "privilegeWithdrawn": "Rút quyền",
    "aACompromise": "Cơ quan thuộc tính bị xâm phạm",
}
"""RFC 5280 revocation reasons as people say them."""

TIER_WORDS: dict[str, str] = {
    "flat": "giá cố định",
    "allowance": "miễn phí (dịch vụ công)",
    "pack": "trong gói",
    "quota": "trong hạn mức thuê bao",
    "overage": "vượt hạn mức",
    "fee": "phí tháng",
}
"""Price tiers on invoices (``tier:N+`` is said by ``tier_phrase``)."""


def tier_phrase(tier: str) -> tuple[str, dict[str, Any]]:
    """A price tier as a phrase and its values, for ``t``."""
    if tier.startswith("tier:") and tier.endswith("+") and tier[5:-1].isdigit():
        return "bậc từ chữ ký thứ {n} trong năm", {"n": int(tier[5:-1]) + 1}
    return TIER_WORDS.get(tier, tier), {}
