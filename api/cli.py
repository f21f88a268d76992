"""The ``kyso`` command line."""

from __future__ import annotations

import getpass
import json
import os
import sys
from datetime import UTC, datetime
from pathlib import Path

import click
from cryptography.hazmat.primitives import hashes, serialization

from api.audit import record_audit
from api.bootstrap import initialise, open_runtime
from api.database import unit_of_work
from api.settings import Settings
from certs.crl import publish_crl
from certs.errors import CertsError
from certs.issuance import issue_signing_certificate, public_key_from_csr
from certs.profiles import SignerSubject
from certs.revocation import RevocationReason, parse_serial, revoke

__all__ = ["main"]


def _operator() -> str:
    return f"operator:{getpass.getuser()}"


def _settings() -> Settings:
    return Settings()


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
    """kyso: certificate authority, signing, verification and per-use billing."""


@main.command()
def init() -> None:
    """Create the data directory, master key, database and CA hierarchy (idempotent)."""
    settings = _settings()
    created = initialise(settings)
    runtime = open_runtime(settings)
    fingerprint = runtime.authority.root.fingerprint(hashes.SHA256()).hex(":").upper()
    runtime.engine.dispose()
    click.echo(
        json.dumps(
            {
                "created": created,
                "data_dir": str(settings.data_dir.resolve()),
                "public_url": runtime.urls.base,
                "root_sha256": fingerprint,
            },
            indent=2,
        )
    )


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8000, show_default=True, type=int, help="Port to listen on.")
@click.option("--workers", default=1, show_default=True, type=click.IntRange(1, 64))
def serve(host: str, port: int, workers: int) -> None:
    """Initialise on first start, then serve the API, PKI endpoints and web pages."""
    import uvicorn

    if not os.environ.get("KYSO_PUBLIC_URL"):
        if _settings().env == "production":
            raise click.UsageError(
                "KYSO_PUBLIC_URL must be set in production: it is written into every certificate"
            )
        shown = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host  # noqa: S104
        shown = f"[{shown}]" if ":" in shown else shown
        os.environ["KYSO_PUBLIC_URL"] = f"http://{shown}:{port}"
    initialise(_settings())
    uvicorn.run(
        "api.app:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        proxy_headers=True,
        log_level="info",
    )


@main.group()
def admin() -> None:
    """Operator commands (run on the server, against its database and key store)."""


@admin.command("issue-cert")
@click.option("--csr", "csr_path", required=True, type=click.Path(exists=True, dir_okay=False))
@click.option("--full-name", required=True, help="The holder's name as proofed at the desk.")
@click.option("--cccd", required=True, help="The holder's 12-digit citizen ID number.")
@click.option("--email", default=None, help="Optional e-mail for the subjectAltName.")
@click.option("--out", "out_path", default=None, type=click.Path(dir_okay=False))
def issue_cert(
    csr_path: str, full_name: str, cccd: str, email: str | None, out_path: str | None
) -> None:
    """Issue a signing certificate for a key the holder keeps (a token), from its CSR."""
    runtime = open_runtime(_settings())
    public_key = public_key_from_csr(Path(csr_path).read_bytes())
    subject = SignerSubject(full_name=full_name, cccd=cccd, email=email)
    now = datetime.now(UTC)
    with unit_of_work(runtime.engine) as session:
        certificate = issue_signing_certificate(
            session,
            issuing_certificate=runtime.authority.issuing,
            issuing_key=runtime.authority.issuing_key,
            subject=subject,
            public_key=public_key,
            urls=runtime.urls,
            now=now,
        )
        record_audit(
            session,
            at=now,
            actor=_operator(),
            action="certificate.issue",
            target=format(certificate.serial_number, "x"),
            subject=certificate.subject.rfc4514_string(),
            source="csr",
        )
    runtime.engine.dispose()
    pem = certificate.public_bytes(serialization.Encoding.PEM).decode()
    if out_path:
        Path(out_path).write_text(pem)
        click.echo(f"serial {certificate.serial_number:x} written to {out_path}", err=True)
    else:
        click.echo(pem, nl=False)


@admin.command("revoke")
@click.option("--serial", required=True, help="Serial number in hex.")
@click.option("--reason", required=True, help="RFC 5280 reason, e.g. keyCompromise, superseded.")
def revoke_command(serial: str, reason: str) -> None:
    """Revoke a certificate and publish a fresh CRL."""
    runtime = open_runtime(_settings())
    number = parse_serial(serial)
    parsed_reason = RevocationReason.parse(reason)
    now = datetime.now(UTC)
    authority = runtime.authority
    with unit_of_work(runtime.engine) as session:
        record = revoke(session, number, parsed_reason, now)
        if record.issuer == "root":
            issuer_certificate, issuer_key = authority.root, authority.root_key()
        else:
            issuer_certificate, issuer_key = authority.issuing, authority.issuing_key
        crl = publish_crl(
            session,
            issuer=record.issuer,
            issuer_certificate=issuer_certificate,
            issuer_key=issuer_key,
            now=now,
            policy=runtime.settings.crl_policy,
        )
        record_audit(
            session,
            at=now,
            actor=_operator(),
            action="certificate.revoke",
            target=record.serial,
            reason=parsed_reason.value,
            crl_number=crl.number,
        )
    runtime.engine.dispose()
    click.echo(
        json.dumps(
            {
                "serial": record.serial,
                "revoked_at": now.isoformat(),
                "reason": parsed_reason.value,
                "crl_number": crl.number,
            }
        )
    )


def run() -> None:
    """Entry point that prints domain errors as one clear line instead of a traceback."""
    try:
        main(standalone_mode=True)
    except CertsError as exc:
        click.echo(f"error [{exc.code}]: {exc.detail}", err=True)
        sys.exit(1)
