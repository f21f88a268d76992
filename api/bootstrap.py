"""First start and every start: data directory, master key, migrations, the CA hierarchy."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urlsplit

from cryptography import x509
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session

from api.database import make_engine, migrate, startup_lock, unit_of_work
from api.settings import Settings
from billing.plans import seed_default_plans
from certs.authority import Authority, current_ca_certificates, load_authority
from certs.errors import CertsError
from certs.hierarchy import ensure_hierarchy
from certs.keystore import FileKeyStore, KeyStore
from certs.masterkey import MasterKey, create_master_key_file, load_master_key
from certs.profiles import PkiUrls

__all__ = ["DEFAULT_PUBLIC_URL", "Runtime", "initialise", "open_runtime", "pki_urls"]

DEFAULT_PUBLIC_URL = "http://127.0.0.1:8000"


@dataclass(frozen=True)
class Runtime:
    """What a process needs to serve: settings, engine, key store and the loaded CA."""

    settings: Settings
    engine: Engine
    master_key: MasterKey
    keystore: KeyStore
    authority: Authority
    urls: PkiUrls
    """Where certificates issued by this process point."""


def _now() -> datetime:
    return datetime.now(UTC)


def _master_key(settings: Settings, *, create: bool) -> MasterKey:
    env_value = settings.master_key.get_secret_value() if settings.master_key else None
    if env_value is None and create:
        create_master_key_file(settings.master_key_path)
    return load_master_key(env_value=env_value, path=settings.master_key_path)


def _recorded_urls(authority: Authority) -> PkiUrls | None:
    """The public URL the hierarchy was created under (from the issuing CA's caIssuers)."""
    try:
        aia = authority.issuing.extensions.get_extension_for_class(
            x509.AuthorityInformationAccess
        ).value
    except x509.ExtensionNotFound:
        return None
    for description in aia:
        location = str(description.access_location.value)
        if location.endswith("/pki/ca/root.crt"):
            return PkiUrls(location.removesuffix("/pki/ca/root.crt"))
    return None


def pki_urls(settings: Settings, authority: Authority | None = None) -> PkiUrls:
    """KYSO_PUBLIC_URL, else the URL the CA was created under, else the default address."""
    if settings.public_url:
        return PkiUrls(settings.public_url)
    recorded = _recorded_urls(authority) if authority else None
    return recorded or PkiUrls(DEFAULT_PUBLIC_URL)


def _check_public_url(url: str) -> None:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(f"KYSO_PUBLIC_URL must be an http(s) URL, not {url!r}")


def initialise(settings: Settings) -> bool:
    """Create what is missing (idempotent, safe across processes). True when the CA was made."""
    settings.data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    master_key = _master_key(settings, create=True)
    keystore = FileKeyStore(settings.keystore_dir, master_key)
    urls = pki_urls(settings)
    _check_public_url(urls.base)
    engine = make_engine(settings.sqlalchemy_url)
    try:
        with startup_lock(engine, settings.data_dir):
            migrate(engine)
            with unit_of_work(engine) as session:
                seed_default_plans(session)
            with unit_of_work(engine) as session:
                return ensure_hierarchy(
                    session,
                    keystore,
                    algorithm=settings.key_algorithm,
                    urls=urls,
                    now=_now(),
                    crl_policy=settings.crl_policy,
                )
    finally:
        engine.dispose()


class NoInstallation(CertsError):
    """An operator command ran where there is no kyso installation."""

    code = "admin.no_installation"


def _require_installation(settings: Settings) -> None:
    """Admin commands act on an existing installation; they never create a CA of their own."""
    where = f"data directory {settings.data_dir.resolve()}"
    if settings.database_url:
        where += " and the database in KYSO_DATABASE_URL"
    hint = (
        f"no kyso installation at {where}: run the command from the server's directory, or "
        "set KYSO_DATA_DIR and KYSO_DATABASE_URL as the server has them (`kyso init` creates "
        "a new installation)"
    )
    if not settings.keystore_dir.is_dir():
        raise NoInstallation(hint)
    engine = make_engine(settings.sqlalchemy_url)
    try:
        with Session(engine) as session:
            found = bool(current_ca_certificates(session))
    except SQLAlchemyError:
        found = False
    finally:
        engine.dispose()
    if not found:
        raise NoInstallation(hint)


def open_runtime(settings: Settings, *, create: bool = True) -> Runtime:
    """Load the CA for serving (``create``: initialise what is missing first) or for an admin
    command (``create=False``: refuse where there is no installation)."""
    if not create:
        _require_installation(settings)
    initialise(settings)
    master_key = _master_key(settings, create=False)
    keystore = FileKeyStore(settings.keystore_dir, master_key)
    engine = make_engine(settings.sqlalchemy_url)
    with Session(engine) as session:
        authority = load_authority(session, keystore)
    return Runtime(
        settings=settings,
        engine=engine,
        master_key=master_key,
        keystore=keystore,
        authority=authority,
        urls=pki_urls(settings, authority),
    )
