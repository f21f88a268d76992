"""Settings from ``KYSO_*`` environment variables, built once and handed on as one object."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from certs.crl import CrlPolicy
from certs.keys import KeyAlgorithm

__all__ = ["DEMO_BANK_ACCOUNT", "Settings"]

DEMO_BANK_ACCOUNT = "0000000000000"
"""The wallet page's demonstration bank account: shown as such, refused in production."""


class Settings(BaseSettings):
    """Everything configurable, with the embedded defaults of a single-node installation."""

    model_config = SettingsConfigDict(env_prefix="KYSO_", frozen=True, extra="ignore")

    env: Literal["development", "test", "production"] = "development"
    """``production`` refuses risky defaults (``api.production``)."""
    data_dir: Path = Path("kyso-data")
    """Holds the SQLite database, the master key file and the key store."""
    database_url: str | None = None
    """SQLAlchemy or plain ``postgresql://`` URL; SQLite in the data directory when unset."""
    public_url: str | None = None
    """Base URL written into certificates; defaults to the address served."""
    master_key: SecretStr | None = None
    """32 bytes (64 hex digits or base64); a 0600 file in the data directory when unset."""
    key_algorithm: KeyAlgorithm = KeyAlgorithm.ECDSA_P256
    """Key type of the CA hierarchy created at first start (``ecdsa-p256`` or ``rsa-3072``)."""
    rsa_signature_scheme: Literal["pkcs1v15", "pss"] = "pkcs1v15"
    """How RSA keys sign certificates, CRLs, OCSP answers, time-stamps and PAdES signatures:
    PKCS#1 v1.5 or RSASSA-PSS (SHA-256, MGF1-SHA-256, 32-byte salt)."""
    subscriber_validity_days: int = Field(default=730, ge=1, le=1095)
    """Validity of a subscriber's signing certificate: at most 3 years (Circular 15/2025)."""
    keystore: Literal["file", "pkcs11"] = "file"
    """Where private keys live: sealed files in the data directory, or a PKCS#11 token."""
    pkcs11_module: Path | None = None
    """The PKCS#11 module (e.g. ``/usr/lib/softhsm/libsofthsm2.so``)."""
    pkcs11_token_label: str | None = None
    """The label of the token holding kyso's keys."""
    pkcs11_pin: SecretStr | None = None
    """The token's user PIN (or ``KYSO_PKCS11_PIN_FILE``)."""
    pkcs11_pin_file: Path | None = None
    """A file whose first line is the token's user PIN."""
    crl_validity_hours: int = Field(default=168, ge=1)
    crl_refresh_hours: int = Field(default=24, ge=1)
    ocsp_validity_minutes: int = Field(default=15, ge=1)
    """nextUpdate - thisUpdate of OCSP answers: how long a client may cache one."""
    access_log: str = ""
    """The JSON-lines access log: empty for none, ``-`` for standard output, else a file
    (appended to). ``kyso serve --access-log`` sets ``-`` when it is unset."""
    metrics_token: SecretStr | None = None
    """When set, ``GET /metrics`` asks for ``Authorization: Bearer <token>``."""
    max_pki_request_bytes: int = Field(default=64 * 1024, ge=1024)
    """Largest OCSP or time-stamp request accepted."""
    max_upload_mb: int = Field(default=256, ge=1)
    """Largest PDF accepted for signing (answered 413 beyond)."""
    max_api_request_bytes: int = Field(default=1024 * 1024, ge=1024)
    """Largest body of any other API request."""
    header_timeout_seconds: int = Field(default=10, ge=1, le=300)
    """A request's headers must be complete within this of the connection's opening or of the
    request's first byte (slow clients, ``api.slow_clients``)."""
    body_timeout_seconds: int = Field(default=30, ge=1, le=600)
    """While a request body is read, some of it must arrive every this many seconds ..."""
    body_min_bytes_per_second: int = Field(default=1024, ge=0)
    """... and on average at least this many bytes a second since its headers."""
    max_pages: int = Field(default=5_000, ge=1)
    """Most pages a document to be signed may have (413 beyond)."""
    retention_days: int = Field(default=30, ge=0)
    """How long a signed document can be downloaded again before the purge deletes it."""
    stamp_font: Path = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
    """TrueType font covering Vietnamese for visible stamps (Debian's fonts-dejavu-core)."""
    tsa_url: str | None = None
    """An external RFC 3161 TSA for signatures; our own, in-process, when unset."""

    sad_lifetime_seconds: int = Field(default=300, ge=1, le=3600)
    """How long a signature authorisation (SAD) lives before it is used."""
    hold_seconds: int = Field(default=600, ge=1, le=86_400)
    """How long a signing in progress holds its price (and its Idempotency-Key) before it must
    renew them; it renews them while it works, so this is how soon what a crashed process
    held goes back to the account."""
    verify_online: bool = False
    """Verification may fetch other CAs' OCSP answers and CRLs over the network (public
    addresses only: see ``verify_private_addresses``)."""
    verify_private_addresses: bool = False
    """Online verification may also fetch loopback and private addresses (an intranet CA, a
    test PKI); refused in production."""
    max_verify_mb: int = Field(default=256, ge=1)
    bank_name: str = "Vietcombank"
    """The bank top-ups are paid into, as people know it."""
    bank_bin: str = Field(default="970436", pattern=r"^[0-9]{6}$")
    """That bank's 6-digit NAPAS BIN (acquirer id), written into the VietQR code."""
    bank_account: str = Field(default=DEMO_BANK_ACCOUNT, pattern=r"^[0-9A-Za-z]{1,19}$")
    """The account number top-ups are paid into. The default is a demonstration number,
    labelled as such on the wallet page and refused in production."""
    bank_account_name: str = "CONG TY KYSO"
    """The account holder's name as the bank shows it."""
    login_source_failures: int = Field(default=10, ge=0)
    """Failed sign-ins one client address may make (across any accounts) before each further
    attempt waits, up to a minute; 0 turns the per-address wait off."""
    login_max_wait_seconds: int = Field(default=60, ge=1, le=60)
    """The longest an account's sign-in waits after wrong passwords (each wait doubles from the
    fourth failure): the owner with the right password gets in after at most this."""
    register_source_limit: int = Field(default=10, ge=0)
    """Registrations one client address may make before each further one waits, up to a
    minute (the count starts again after 15 quiet minutes); 0 turns it off."""
    """Largest PDF accepted for verification (413 beyond)."""
    vat_percent: int = Field(default=10, ge=0, le=100)
    """VAT rate (percent) shown on invoices; prices are VAT-inclusive."""
    yearly_certificate_price: int = Field(default=1_650_000, ge=0)
    """What a citizen would pay for a yearly signing-certificate subscription (VND), the
    reference of the "per use vs subscription" comparison."""
    payment_provider: Literal["none", "fake"] = "none"
    """``fake`` enables the stand-in payment provider (development and tests; refused in
    production)."""
    seller_name: str = "kyso — dịch vụ chữ ký số"
    """The seller named on invoices."""
    seller_tax_code: str = Field(default="0100000000", pattern=r"^[0-9]{10}(-[0-9]{3})?$")
    """The seller's tax code (mã số thuế: 10 digits, or 13 with a branch) on invoices; the
    default is a demonstration number."""
    seller_address: str = "Hà Nội, Việt Nam"
    """The seller's address on invoices."""
    invoice_series: str = Field(default="KS", pattern=r"^[A-Z]{2}$")
    """The two letters the seller chose for its invoice series (Circular 78/2021/TT-BTC): the
    series printed is ``C`` (with the tax authority's code), the year's two digits, ``T``
    (registered e-invoices) and these, e.g. ``C26TKS``."""

    @model_validator(mode="after")
    def _pkcs11_is_complete(self) -> Settings:
        if self.keystore != "pkcs11":
            return self
        missing = [
            name
            for name, value in (
                ("KYSO_PKCS11_MODULE", self.pkcs11_module),
                ("KYSO_PKCS11_TOKEN_LABEL", self.pkcs11_token_label),
            )
            if not value
        ]
        if self.pkcs11_pin is None and self.pkcs11_pin_file is None:
            missing.append("KYSO_PKCS11_PIN (or KYSO_PKCS11_PIN_FILE)")
        if missing:
            raise ValueError(f"KYSO_KEYSTORE=pkcs11 needs {', '.join(missing)}")
        return self

    @field_validator("public_url")
    @classmethod
    def _strip_slash(cls, value: str | None) -> str | None:
        return value.rstrip("/") if value else value

    @property
    def database_path(self) -> Path:
        return (self.data_dir / "kyso.db").resolve()

    @property
    def sqlalchemy_url(self) -> str:
        """The database URL with the psycopg 3 driver named for PostgreSQL."""
        url = self.database_url or f"sqlite:///{self.database_path}"
        for prefix in ("postgresql://", "postgres://"):
            if url.startswith(prefix):
                return "postgresql+psycopg://" + url[len(prefix) :]
        return url

    @property
    def is_sqlite(self) -> bool:
        return self.sqlalchemy_url.startswith("sqlite")

    @property
    def master_key_path(self) -> Path:
        return self.data_dir / "master.key"

    @property
    def documents_dir(self) -> Path:
        return self.data_dir / "documents"

    @property
    def upload_dir(self) -> Path:
        return self.data_dir / "uploads"

    @property
    def keystore_dir(self) -> Path:
        return self.data_dir / "keys"

    @property
    def crl_policy(self) -> CrlPolicy:
        return CrlPolicy(
            validity=timedelta(hours=self.crl_validity_hours),
            refresh_after=timedelta(hours=min(self.crl_refresh_hours, self.crl_validity_hours)),
        )
