"""What a verification report says, in English (the API's ``reasons`` and ``warnings``) and in
Vietnamese (the report PDF), from one table of codes."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from kernel.vietnam import VIETNAM

__all__ = ["CHANGES", "KINDS", "say"]


KINDS = {
    "en": {
        "page": "the page itself",
        "content": "the page content",
        "font": "a font",
        "image": "an image",
        "form_xobject": "a drawn object (form XObject)",
        "resources": "the page resources",
        "annotation_added": "an added annotation",
        "annotation_changed": "a changed annotation",
        "annotation_removed": "a removed annotation",
        "form_field": "a form field",
        "signature_added": "a later signature",
        "page_added": "an added page",
        "page_removed": "a removed page",
        "cross_reference": "what readers are shown (a cross-reference trick)",
        "unreadable": "objects that cannot be read",
    },
    "vi": {
        "page": "chính trang",
        "content": "nội dung trang",
        "font": "phông chữ",
        "image": "hình ảnh",
        "form_xobject": "đối tượng vẽ (form XObject)",
        "resources": "tài nguyên của trang",
        "annotation_added": "chú thích được thêm",
        "annotation_changed": "chú thích bị sửa",
        "annotation_removed": "chú thích bị xoá",
        "form_field": "trường biểu mẫu",
        "signature_added": "chữ ký sau đó",
        "page_added": "trang được thêm",
        "page_removed": "trang bị xoá",
        "cross_reference": "nội dung hiển thị (thủ thuật bảng tham chiếu chéo)",
        "unreadable": "đối tượng không đọc được",
    },
}

CHANGES = {
    "en": {
        "none": "none",
        "validation_data": "validation data only",
        "form_filling": "form filling",
        "annotations": "comments",
        "other": "other changes",
        "unknown": "unknown",
    },
    "vi": {
        "none": "không có",
        "validation_data": "chỉ bổ sung dữ liệu kiểm tra",
        "form_filling": "điền biểu mẫu",
        "annotations": "thêm ghi chú",
        "other": "thay đổi khác",
        "unknown": "không rõ",
    },
}

_WORDS: dict[str, tuple[str, str]] = {
    "content_changed": (
        "the signed content was changed after signing",
        "nội dung đã ký bị thay đổi sau khi ký",
    ),
    "signature_mismatch": (
        "the signature value does not match the document",
        "giá trị chữ ký không khớp với tài liệu",
    ),
    "forbidden_changes": (
        "the document was changed after signing ({changes}) in a way the signer did not permit",
        "tài liệu bị thay đổi sau khi ký ({changes}) theo cách người ký không cho phép",
    ),
    "revoked_before_signing": (
        "the certificate was revoked ({at}) before the time-stamped signing time",
        "chứng thư số đã bị thu hồi ({at}) trước thời điểm ký có dấu thời gian",
    ),
    "revoked_no_proof": (
        "the certificate is revoked ({at}) and no time-stamp proves the signature came before",
        "chứng thư số đã bị thu hồi ({at}) và không có dấu thời gian chứng minh chữ ký có trước đó",
    ),
    "NO_CERTIFICATE_CHAIN_FOUND": (
        "the signer's certificate does not lead to a trusted root",
        "chứng thư số của người ký không dẫn tới gốc tin cậy nào",
    ),
    "OUT_OF_BOUNDS_NO_POE": (
        "the certificate was not valid at the signing time that can be proved",
        "chứng thư số không còn hiệu lực tại thời điểm ký có thể chứng minh được",
    ),
    "CERTIFICATE_CHAIN_GENERAL_FAILURE": (
        "the certificate path could not be validated (no "
        "revocation information, or a broken chain)",
        "không kiểm tra được chuỗi chứng thư (thiếu thông tin thu hồi, hoặc chuỗi bị hỏng)",
    ),
    "REVOKED_NO_POE": ("the certificate is revoked", "chứng thư số đã bị thu hồi"),
    "EXPIRED": ("the certificate has expired", "chứng thư số đã hết hạn"),
    "NOT_YET_VALID": ("the certificate was not yet valid", "chứng thư số chưa có hiệu lực"),
    "trust_problem": (
        "the certificate path could not be validated ({problem})",
        "không kiểm tra được chuỗi chứng thư ({problem})",
    ),
    "unreadable_signature": (
        "the signature cannot be read: the file is damaged ({detail})",
        "không đọc được chữ ký: tệp bị hỏng ({detail})",
    ),
    "unreadable_file": (
        "the file cannot be read as a PDF ({detail})",
        "không đọc được tệp dưới dạng PDF ({detail})",
    ),
    "no_signature": ("the document carries no signature", "tài liệu không có chữ ký nào"),
    "only_timestamps": (
        "the document carries only document time-stamps: they prove when it "
        "existed, not that anyone signed it",
        "tài liệu chỉ có dấu thời gian: chứng minh thời điểm tài liệu tồn tại, "
        "không chứng minh ai đã ký",
    ),
    "timestamp_content_changed": (
        "the time-stamped content was changed",
        "nội dung đã gắn dấu thời gian bị thay đổi",
    ),
    "timestamp_mismatch": (
        "the time-stamp's signature does not match",
        "chữ ký của dấu thời gian không khớp",
    ),
    "timestamp_untrusted": (
        "the time-stamping authority is not trusted ({problem})",
        "đơn vị cấp dấu thời gian không được tin cậy ({problem})",
    ),
    "weak_digest": ("weak digest algorithm {algorithm}", "thuật toán băm yếu {algorithm}"),
    "no_timestamp": (
        "no trusted time-stamp: the signing time is the signer's own claim",
        "không có dấu thời gian tin cậy: thời gian ký là do người ký tự khai",
    ),
    "expired_since": (
        "the certificate has expired since ({at})",
        "chứng thư số đã hết hạn sau đó ({at})",
    ),
    "changed_after": (
        "changed after signing: {changes}{pages}",
        "có thay đổi sau khi ký: {changes}{pages}",
    ),
    "unsigned_tail": (
        "{bytes} bytes at the end of the file are covered by no signature",
        "{bytes} byte cuối tệp không thuộc chữ ký nào",
    ),
    "algorithm_unsupported": (
        "the signature algorithm {algorithm} cannot be checked here",
        "không kiểm tra được thuật toán chữ ký {algorithm}",
    ),
    "signed_view_changed": (
        "what the signed page shows was changed after signing: page {page}{region} ({kinds})",
        "nội dung hiển thị của trang đã ký bị thay đổi sau khi ký: trang {page}{region} ({kinds})",
    ),
    "added_beside": (
        "added after signing beside the signed content: page {page}{region}",
        "được thêm sau khi ký, bên cạnh nội dung đã ký: trang {page}{region}",
    ),
    "view_not_compared": (
        "the pages changed after signing could not be drawn to compare them",
        "không vẽ được các trang thay đổi sau khi ký để so sánh",
    ),
    "active_javascript": (
        "the document contains JavaScript ({where})",
        "tài liệu chứa JavaScript ({where})",
    ),
    "active_launch": (
        "the document can launch a program or open a file ({where})",
        "tài liệu có thể chạy chương trình hoặc mở tệp ({where})",
    ),
    "active_submit_form": (
        "the document can send form data to an address ({where})",
        "tài liệu có thể gửi dữ liệu biểu mẫu tới một địa chỉ ({where})",
    ),
    "active_import_data": (
        "the document can import form data from a file ({where})",
        "tài liệu có thể nhập dữ liệu biểu mẫu từ tệp ({where})",
    ),
    "active_embedded_file": (
        "the document carries an embedded file ({where}): it is not what the signature shows",
        "tài liệu chứa tệp đính kèm ({where}): đó không phải nội dung chữ ký thể hiện",
    ),
    "active_xfa": (
        "the document is an XFA form ({where}): a reader that draws XFA may show "
        "other content than the signed pages",
        "tài liệu là biểu mẫu XFA ({where}): phần mềm đọc hiển thị XFA có thể "
        "hiện nội dung khác với các trang đã ký",
    ),
    "revocation_not_checked": (
        "the certificate names no revocation service and none was "
        "available: revocation could not be checked",
        "chứng thư số không nêu dịch vụ thu hồi và không có dữ liệu thu "
        "hồi: không kiểm tra được việc thu hồi",
    ),
}


def _time(value: object, language: str) -> str:
    if not isinstance(value, str):
        return str(value)
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return value
    if language == "vi":
        return f"{moment.astimezone(VIETNAM):%d/%m/%Y %H:%M} (GMT+7)"
    return f"{moment.astimezone(VIETNAM):%Y-%m-%d %H:%M} (GMT+7)"


def say(code: str, args: Mapping[str, object], language: str = "en") -> str:
    """The sentence for ``code`` in ``language`` (``en`` or ``vi``)."""
    english, vietnamese = _WORDS.get(code, (code, code))
    values = dict(args)
    if "at" in values:
        values["at"] = _time(values["at"], language)
    if "changes" in values:
        values["changes"] = CHANGES.get(language, CHANGES["en"]).get(
            str(values["changes"]), values["changes"]
        )
    if "pages" in values:
        pages = values["pages"]
        label = " trang " if language == "vi" else " pages "
        values["pages"] = f",{label}{', '.join(map(str, pages))}" if pages else ""  # type: ignore[call-overload]
    if "region" in values:
        region = values["region"]
        values["region"] = (
            f", ({region[0]:g},{region[1]:g})-({region[2]:g},{region[3]:g}) pt"
            if isinstance(region, list | tuple) and len(region) == 4
            else ""
        )
    if "kinds" in values and isinstance(values["kinds"], list | tuple):
        named = KINDS.get(language, KINDS["en"])
        values["kinds"] = ", ".join(named.get(str(k), str(k)) for k in values["kinds"])
    if "bytes" in values and isinstance(values["bytes"], int):
        values["bytes"] = f"{values['bytes']:,}".replace(",", "." if language == "vi" else ",")
    template = vietnamese if language == "vi" else english
    try:
        return template.format(**values)
    except (KeyError, IndexError):
        return template
