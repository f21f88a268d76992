"""Where each role starts, and the menu it sees."""

from __future__ import annotations

from identity.models import Role

__all__ = ["home_of", "menu_of"]

_MENUS: dict[str, tuple[tuple[str, str], ...]] = {
    Role.CITIZEN.value: (
        ("/me", "Tổng quan"),
        ("/sign", "Ký tài liệu"),
        ("/me/signatures", "Lịch sử ký"),
        ("/me/wallet", "Ví và chi phí"),
        ("/me/invoices", "Hoá đơn"),
        ("/me/certificate", "Chứng thư ký số"),
    ),
    Role.REGISTRATION_OFFICER.value: (("/officer/registrations", "Hồ sơ chờ xác minh"),),
    Role.AGENCY_OFFICER.value: (("/verify", "Xác minh tài liệu"),),
    Role.BILLING_STAFF.value: (
        ("/billing", "Doanh thu và sử dụng"),
        ("/billing/invoices", "Hoá đơn"),
        ("/billing/top-ups", "Ghi nhận nạp tiền"),
        ("/billing/statements", "Sao kê ngân hàng"),
    ),
    Role.ADMIN.value: (
        ("/admin", "Quản trị"),
        ("/admin/trust", "CA tin cậy"),
        ("/admin/plans", "Bảng giá"),
        ("/admin/staff", "Nhân viên"),
        ("/admin/certificates", "Thu hồi chứng thư"),
        ("/admin/oidc-clients", "Cổng kết nối"),
        ("/admin/audit", "Nhật ký"),
        ("/verify", "Xác minh tài liệu"),
    ),
}


def menu_of(role: str) -> tuple[tuple[str, str], ...]:
    """(path, Vietnamese label) of each page in the role's menu."""
    return _MENUS.get(role, ())


def home_of(role: str) -> str:
    """The first page a person of this role sees after signing in."""
    menu = menu_of(role)
    return menu[0][0] if menu else "/"
