"""The ``kyso`` command line."""

from __future__ import annotations

import getpass
import json
import os
import shutil
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import BinaryIO

import click
from cryptography.hazmat.primitives import hashes, serialization
from pydantic import ValidationError
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from api import engines
from api.bootstrap import initialise, open_runtime
from api.log_config import LOG_LEVELS, LogLevel
from api.production import refuse_unsafe_production
from api.settings import Settings
from api.usecases import (
    accounts,
    administration,
    check_ledger,
    close_period,
    housekeeping,
    issue_credential,
    master_key,
    oidc,
    oidc_clients,
    revoke,
    top_up,
)
from api.usecases import import_statement as importing
from api.usecases import signing_requests as portal_requests
from api.usecases import trust as trusting
from api.usecases.accounts import CreateOrganisation, CreateUser
from api.usecases.administration import RotateTokenKey
from api.usecases.close_period import ClosePeriod
from api.usecases.import_statement import ImportStatement
from api.usecases.issue_credential import CertifyKeyAtTheDesk
from api.usecases.master_key import SplitMasterKey
from api.usecases.oidc import RegisterClient
from api.usecases.revoke import RevokeCertificate
from api.usecases.services import Services, build_services
from api.usecases.signing_requests import ConfigurePortal
from api.usecases.top_up import RecordTopUp
from api.usecases.trust import AddTrustAnchor, RemoveTrustAnchor
from certs.errors import MasterKeyError
from certs.master_key_shares import (
    MAX_SHARES,
    SharesBelowThreshold,
    combine_shares,
)
from certs.masterkey import encode_master_key, write_master_key_file
from certs.profiles import SignerSubject
from identity.accounts import NewUser
from identity.audit import verify_audit_chain
from identity.cccd import Gender
from identity.errors import InvalidField
from identity.models import Role
from kernel.errors import KysoError
from signing.trust import list_anchors

__all__ = ["main"]


def _operator() -> str:
    return f"operator:{getpass.getuser()}"


def _settings() -> Settings:
    return Settings()


@contextmanager
def _installation() -> Iterator[Services]:
    """The use cases' services over the installation the server runs (never a new one)."""
    runtime = open_runtime(_settings(), create=False)
    services = build_services(runtime)
    try:
        yield services
    finally:
        services.close()
        runtime.engine.dispose()


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
    """kyso: certificate authority, signing, verification and per-use billing."""


@main.command()
@click.option(
    "--issuing-csr",
    "issuing_csr",
    default=None,
    type=click.Path(dir_okay=False),
    help="Make no root: make the issuing CA's key and write its request (PEM) to this file, "
    "for a parent (national) root to certify; then `kyso admin import-issuing-ca`.",
)
def init(issuing_csr: str | None) -> None:
    """Create the data directory, master key, database and CA hierarchy (idempotent)."""
    settings = _settings()
    refuse_unsafe_production(settings)
    if issuing_csr:
        from api.usecases.ca_setup import request_issuing_ca

        request = request_issuing_ca(settings, Path(issuing_csr), actor=_operator())
        click.echo(json.dumps({"issuing_key": request.key_id, "created": request.created,
                               "csr": str(request.csr_path)}, indent=2))  # fmt: skip
        return
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
@click.option(
    "--access-log/--no-access-log",
    default=False,
    show_default=True,
    help="Log every request as a JSON line on standard output (KYSO_ACCESS_LOG names a file "
    "instead); costs some throughput on the PKI endpoints.",
)
@click.option(
    "--keep-alive",
    default=75,
    show_default=True,
    type=click.IntRange(1, 3600),
    help="Seconds an idle connection stays open. Longer than a client's usual pause (and a "
    "load balancer's 60 s), so a client rarely sends on a connection the server is closing.",
)
@click.option(
    "--engine",
    type=click.Choice(engines.ENGINES),
    default="uvicorn",
    show_default=True,
    envvar="KYSO_SERVE_ENGINE",
    help="The HTTP server under the app (or KYSO_SERVE_ENGINE); bench/README.md compares them. "
    "granian keeps idle connections open without --keep-alive's bound and bounds only the "
    "headers' read time (not a body's pace).",
)
@click.option(
    "--log-level",
    type=click.Choice(LOG_LEVELS),
    default="info",
    show_default=True,
    help="Least severe log line written (debug adds SQL statements, never their parameters).",
)
def serve(
    host: str,
    port: int,
    workers: int,
    access_log: bool,
    keep_alive: int,
    engine: str,
    log_level: LogLevel,
) -> None:
    """Initialise on first start, then serve the API, PKI endpoints and web pages."""
    refuse_unsafe_production(_settings())
    if not os.environ.get("KYSO_PUBLIC_URL"):
        shown = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host  # noqa: S104
        shown = f"[{shown}]" if ":" in shown else shown
        os.environ["KYSO_PUBLIC_URL"] = f"http://{shown}:{port}"
    initialise(_settings())
    if access_log and not os.environ.get("KYSO_ACCESS_LOG"):
        os.environ["KYSO_ACCESS_LOG"] = "-"
    if workers > 1:  # every worker's counts in /metrics: prometheus-client's multiprocess mode
        counts = _settings().data_dir / "metrics"
        shutil.rmtree(counts, ignore_errors=True)
        counts.mkdir(parents=True, mode=0o700)
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(counts.resolve())
    listen = engines.Listen(host, port, workers, keep_alive, log_level)
    engines.run(engine, listen, _settings())


@main.group()
def admin() -> None:
    """Operator commands (run on the server, against its database and key store)."""


@admin.command("issue-cert")
@click.option("--csr", "csr_path", required=True, type=click.Path(exists=True, dir_okay=False))
@click.option("--full-name", required=True,
              help="The holder's name as proofed at the desk (an organisation's registered name "
              "with --mst).")  # fmt: skip
@click.option("--cccd", default=None, help="The holder's 12-digit citizen ID number.")
@click.option("--mst", default=None,
              help="An organisation's tax code (10 digits, or 0101234567-001): UID=MST:… "
              "instead of CCCD.")  # fmt: skip
@click.option("--organisation", default=None, help="O= of the subject (defaults to the name "
              "for an organisation).")  # fmt: skip
@click.option("--email", default=None, help="Optional e-mail for the subjectAltName.")
@click.option("--out", "out_path", default=None, type=click.Path(dir_okay=False))
def issue_cert(
    csr_path: str,
    full_name: str,
    cccd: str | None,
    mst: str | None,
    organisation: str | None,
    email: str | None,
    out_path: str | None,
) -> None:
    """Issue a signing certificate for a key the holder keeps (a token), from its CSR."""
    command = CertifyKeyAtTheDesk(
        csr=Path(csr_path).read_bytes(),
        subject=SignerSubject(
            full_name=full_name, cccd=cccd, tax_code=mst, organisation=organisation, email=email
        ),
        actor=_operator(),
    )
    with _installation() as services:
        certificate = issue_credential.certify_at_the_desk(services, command)
    pem = certificate.public_bytes(serialization.Encoding.PEM).decode()
    if out_path:
        Path(out_path).write_text(pem)
        click.echo(f"serial {certificate.serial_number:x} written to {out_path}", err=True)
    else:
        click.echo(pem, nl=False)


@admin.command("import-issuing-ca")
@click.option("--chain", "chain_path", required=True, type=click.Path(exists=True, dir_okay=False),
              help="PEM: the issuing CA's certificate and the root that issued it.")  # fmt: skip
def import_issuing_ca_command(chain_path: str) -> None:
    """Install the issuing CA's certificate a parent (national) root issued for the request
    of `kyso init --issuing-csr`, after checking it against the key and the profile."""
    from api.usecases.ca_setup import import_issuing_ca

    summary = import_issuing_ca(_settings(), Path(chain_path), actor=_operator())
    click.echo(json.dumps(summary.__dict__, ensure_ascii=False, indent=2))


@admin.command("revoke")
@click.option("--serial", required=True, help="Serial number in hex.")
@click.option("--reason", required=True, help="RFC 5280 reason, e.g. keyCompromise, superseded.")
def revoke_command(serial: str, reason: str) -> None:
    """Revoke a certificate and publish a fresh CRL."""
    command = RevokeCertificate(serial=serial, reason=reason, actor=_operator())
    with _installation() as services:
        revoked = revoke.revoke_certificate(services, command)
    click.echo(
        json.dumps(
            {
                "serial": revoked.serial,
                "revoked_at": revoked.revoked_at.isoformat(),
                "reason": revoked.reason,
                "crl_number": revoked.crl_number,
            }
        )
    )


def _name_from_email(email: str) -> str:
    """A readable default name for staff accounts: the address's letters."""
    words = "".join(c if c.isalpha() else " " for c in email.split("@")[0]).split()
    return " ".join(words).title() or "Staff"


@admin.command("create-user")
@click.option("--email", required=True)
@click.option("--password", required=True)
@click.option("--role", required=True, type=click.Choice([r.value for r in Role]))
@click.option("--full-name", default=None, help="Defaults to the e-mail's local part for staff.")
@click.option("--cccd", default=None, help="12-digit citizen ID (required for citizens).")
@click.option("--date-of-birth", default=None, type=click.DateTime(formats=["%Y-%m-%d"]))
@click.option("--gender", default=None, type=click.Choice([g.value for g in Gender]))
@click.option("--phone", default=None)
@click.option("--organisation", default=None, help="Name of an existing organisation.")
@click.option("--verified", is_flag=True, help="Identity proofed at the desk: level 2.")
def create_user_command(
    email: str,
    password: str,
    role: str,
    full_name: str | None,
    cccd: str | None,
    date_of_birth: datetime | None,
    gender: str | None,
    phone: str | None,
    organisation: str | None,
    verified: bool,
) -> None:
    """Create an account (citizens need the CCCD block)."""
    new = NewUser(
        email=email,
        password=password,
        full_name=full_name or _name_from_email(email),
        role=Role(role),
        cccd=cccd,
        date_of_birth=date_of_birth.date() if date_of_birth else None,
        gender=Gender(gender) if gender else None,
        phone=phone,
    )
    command = CreateUser(
        new=new, actor=_operator(), verified=verified, organisation_name=organisation
    )
    with _installation() as services:
        user = accounts.create_user_account(services, command)
    printed = {
        "id": user.id,
        "email": user.email,
        "role": user.role,
        "identity_level": user.identity_level,
    }
    click.echo(json.dumps(printed))


@admin.command("create-organisation")
@click.option("--name", required=True)
@click.option("--kind", required=True, type=click.Choice(["agency", "company"]))
@click.option("--tax-code", default=None, help="Its tax code, printed on its invoices.")
@click.option("--address", default=None, help="Its address, printed on its invoices.")
def create_organisation_command(
    name: str, kind: str, tax_code: str | None, address: str | None
) -> None:
    """Create an agency or a company whose members bill to it."""
    command = CreateOrganisation(name=name, kind=kind, actor=_operator(), tax_code=tax_code,
                                 address=address)  # fmt: skip
    with _installation() as services:
        organisation = accounts.create_organisation_with_account(services, command)
    printed = {"id": organisation.id, "name": organisation.name, "kind": organisation.kind,
               "tax_code": organisation.tax_code, "address": organisation.address}  # fmt: skip
    click.echo(json.dumps(printed, ensure_ascii=False))


@admin.command("rotate-token-key")
def rotate_token_key() -> None:
    """New access-token signing key; the old one verifies until its tokens expire."""
    with _installation() as services:
        kid = administration.rotate_token_key(services, RotateTokenKey(actor=_operator()))
    click.echo(json.dumps({"kid": kid}))


@admin.command("purge-documents")
def purge_documents_command() -> None:
    """Delete signed documents past their retention period (the records stay)."""
    with _installation() as services:
        count = housekeeping.purge_documents(services)
    click.echo(json.dumps({"purged": count}))


@admin.group("audit")
def audit() -> None:
    """The hash-chained audit log."""


@audit.command("verify")
def audit_verify() -> None:
    """Recompute the chain; exit 1 when a record was edited, removed or inserted."""
    with _installation() as services, services.reading() as session:
        verdict = verify_audit_chain(session)
    click.echo(
        json.dumps(
            {"intact": verdict.intact, "records": verdict.records, "problem": verdict.problem}
        )
    )
    if not verdict.intact:
        sys.exit(1)


@admin.command("backup")
@click.option(
    "--out",
    "out_path",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="The backup file to write (a new file; mode 0600).",
)
@click.option(
    "--documents/--no-documents",
    default=True,
    show_default=True,
    help="Include the signed documents still kept for download.",
)
def backup_command(out_path: Path, documents: bool) -> None:
    """One consistent backup while the service runs: the database, the key store's sealed
    keys, the kept documents, the settings and a sealed manifest. No clear key and no master
    key inside: keep the master key's shares apart from the backups."""
    from api.usecases.backup import make_backup

    with _installation() as services:
        report = make_backup(services.runtime, out=out_path, documents=documents,
                             actor=_operator())  # fmt: skip
    for warning in report.warnings:
        click.echo(f"warning: {warning}", err=True)
    click.echo(json.dumps(report.as_json(), indent=2, ensure_ascii=False))


@admin.command("restore")
@click.option(
    "--from",
    "source",
    required=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="A file written by `kyso admin backup`.",
)
def restore_command(source: Path) -> None:
    """Restore a backup into an empty data directory and database (KYSO_DATA_DIR,
    KYSO_DATABASE_URL), with the master key that sealed it (KYSO_MASTER_KEY, or master.key
    in the data directory, rebuilt by `kyso admin master-key combine`)."""
    from api.usecases.restore import restore_backup

    report = restore_backup(_settings(), source=source, actor=_operator())
    click.echo(report.as_json()["notice"], err=True)
    click.echo(json.dumps(report.as_json(), indent=2, ensure_ascii=False))


@admin.group("master-key")
def master_key_group() -> None:
    """The master key in custodians' hands: SLIP-39 shares, any M of N rebuild it."""


@master_key_group.command("split")
@click.option("--shares", required=True, type=click.IntRange(2, MAX_SHARES), help="N")
@click.option("--threshold", required=True, type=click.IntRange(2, MAX_SHARES), help="M")
@click.option("--json", "as_json", is_flag=True, help="Print JSON, for a program.")
def master_key_split(shares: int, threshold: int, as_json: bool) -> None:
    """Print N shares of this instance's master key, any M of which rebuild it."""
    command = SplitMasterKey(shares=shares, threshold=threshold, actor=_operator())
    with _installation() as services:
        split = master_key.split(services, command)
    if as_json:
        printed = {"master_key_id": split.master_key_id, "threshold": threshold,
                   "shares": list(split.shares)}  # fmt: skip
        click.echo(json.dumps(printed, indent=2))
        return
    click.echo(
        f"Master key {split.master_key_id}: {shares} shares, any {threshold} of which rebuild it "
        "(kyso admin master-key combine). Give each to a different custodian, written on "
        "paper, kept apart from the backups and from each other.\n"
    )
    for number, share in enumerate(split.shares, start=1):
        click.echo(f"Share {number} of {shares}:\n  {share}\n")


def _read_shares() -> list[str]:
    """Shares from standard input, one a line; asked for one by one at a terminal."""
    if not sys.stdin.isatty():
        return [line for line in sys.stdin.read().splitlines() if line.strip()]
    shares: list[str] = []
    while True:
        share = click.prompt(
            f"Share {len(shares) + 1} (empty to stop)", default="", hide_input=True,
            show_default=False, err=True,
        )  # fmt: skip
        if not share.strip():
            return shares
        shares.append(share)
        try:
            combine_shares(shares)
            return shares
        except SharesBelowThreshold:
            click.echo("  accepted; more shares are needed", err=True)


@master_key_group.command("combine")
@click.option(
    "--out",
    "out_path",
    default=None,
    type=click.Path(dir_okay=False, path_type=Path),
    help="Where to write the master key (mode 0600); default: master.key in KYSO_DATA_DIR.",
)
@click.option(
    "--print", "print_key", is_flag=True, help="Print the key for KYSO_MASTER_KEY instead."
)
def master_key_combine(out_path: Path | None, print_key: bool) -> None:
    """Rebuild the master key from M shares (standard input, one a line, or typed at the
    prompt): written to a new 0600 file, or printed."""
    master_key = combine_shares(_read_shares())
    if print_key:
        click.echo(encode_master_key(master_key))
        click.echo(f"master key {master_key.key_id} rebuilt", err=True)
        return
    path = out_path or _settings().master_key_path
    try:
        write_master_key_file(path, master_key)
    except FileExistsError:
        raise MasterKeyError(f"{path} exists already: nothing was written") from None
    click.echo(json.dumps({"master_key_id": master_key.key_id, "written": str(path)}))


@admin.group("oidc-client")
def oidc_client() -> None:
    """Relying parties of the OpenID Connect provider."""


@oidc_client.command("add")
@click.option("--name", required=True)
@click.option(
    "--redirect-uri",
    "redirect_uris",
    required=True,
    multiple=True,
    help="Matched exactly; may be given several times.",
)
@click.option("--public", is_flag=True, help="A public client (no secret; PKCE S256 required).")
@click.option("--scopes", default="openid profile email", show_default=True)
@click.option("--id-token-alg", type=click.Choice(["ES256", "RS256"]), default="ES256")
@click.option(
    "--jwks",
    "jwks_file",
    type=click.Path(exists=True, dir_okay=False),
    help="The client's public keys (JWKS JSON) for private_key_jwt.",
)
@click.option("--signing-requests", is_flag=True, help="A portal: it may ask for signatures.")
@click.option("--payer-organisation", default=None, help="The organisation paying (id or name).")
@click.option("--webhook-url", "webhook_urls", multiple=True, help="A portal's webhook URL.")
def oidc_client_add(
    name: str,
    redirect_uris: tuple[str, ...],
    public: bool,
    scopes: str,
    id_token_alg: str,
    jwks_file: str | None,
    signing_requests: bool,
    payer_organisation: str | None,
    webhook_urls: tuple[str, ...],
) -> None:
    """Register a relying party; prints its client_id (and client_secret, once)."""
    jwks = json.loads(Path(jwks_file).read_text()) if jwks_file else None
    command = RegisterClient(
        name=name,
        redirect_uris=list(redirect_uris),
        public=public,
        scopes=scopes.split(),
        id_token_alg=id_token_alg,
        jwks=jwks,
        actor=_operator(),
    )
    with _installation() as services:
        client, secret = oidc.register(services, command)
        if signing_requests or payer_organisation or webhook_urls:  # a portal
            portal = ConfigurePortal(
                client_id=client.id, signing_requests=signing_requests,
                payer_organisation_id=payer_organisation, webhook_urls=list(webhook_urls),
                actor=_operator(),
            )  # fmt: skip
            client = portal_requests.configure_portal(services, portal)
    printed = {
        "client_id": client.id,
        "name": client.name,
        "public": client.public,
        "redirect_uris": list(redirect_uris),
        "scopes": client.scopes,
        "signing_requests": client.signing_requests,
    }
    if secret:
        printed["client_secret"] = secret
    click.echo(json.dumps(printed, ensure_ascii=False))


@oidc_client.command("portal")
@click.argument("client_id")
@click.option(
    "--signing-requests/--no-signing-requests",
    default=True,
    show_default=True,
    help="Whether it may ask citizens to sign (POST /v1/signing-requests).",
)
@click.option(
    "--payer-organisation",
    default=None,
    help="The organisation (id or name) that pays for its sponsored signatures.",
)
@click.option(
    "--webhook-url",
    "webhook_urls",
    multiple=True,
    help="A URL its signing requests may name as webhook; may be given several times.",
)
def oidc_client_portal(
    client_id: str, signing_requests: bool, payer_organisation: str | None,
    webhook_urls: tuple[str, ...],
) -> None:  # fmt: skip
    """Make a relying party a portal: signing requests, its paying organisation, webhooks."""
    command = ConfigurePortal(client_id=client_id, signing_requests=signing_requests,
                              payer_organisation_id=payer_organisation,
                              webhook_urls=list(webhook_urls), actor=_operator())  # fmt: skip
    with _installation() as services:
        client = portal_requests.configure_portal(services, command)
    click.echo(json.dumps({"client_id": client.id, "name": client.name,
                           "signing_requests": client.signing_requests,
                           "payer_organisation_id": client.payer_organisation_id,
                           "webhook_urls": json.loads(client.webhook_urls or "[]")},
                          ensure_ascii=False))  # fmt: skip


@admin.command("check-ledger")
def check_ledger_command() -> None:
    """Prove the books: every signature charged once and every charge a signature's, each
    balance the sum of its entries, invoices equal to their usage, gapless numbers. Exit 1
    with the findings when anything does not add up."""
    with _installation() as services:
        counted, findings = check_ledger.check_ledger(services)
    click.echo(
        json.dumps(
            {
                "ok": not findings,
                "checked": counted,
                "findings": [{"rule": f.rule, "detail": f.detail} for f in findings],
            },
            indent=2,
        )
    )
    if findings:
        sys.exit(1)


@admin.group("trust")
def trust() -> None:
    """Roots that verification trusts besides our own."""


@trust.command("add")
@click.argument("pem_file", type=click.Path(exists=True, dir_okay=False))
def trust_add(pem_file: str) -> None:
    """Trust the CA certificate in PEM_FILE (PEM or DER)."""
    command = AddTrustAnchor(certificate=Path(pem_file).read_bytes(), actor=_operator())
    with _installation() as services:
        anchor = trusting.add(services, command)
    printed = {"sha256": anchor.sha256, "subject": anchor.subject}
    click.echo(json.dumps(printed, ensure_ascii=False))


@trust.command("remove")
@click.argument("sha256")
def trust_remove(sha256: str) -> None:
    """Stop trusting the anchor with this SHA-256 fingerprint."""
    with _installation() as services:
        own = services.runtime.authority.root.fingerprint(hashes.SHA256()).hex()
        if sha256.lower().replace(":", "") == own:
            raise click.UsageError("this is kyso's own root: it is always trusted")
        anchor = trusting.remove(services, RemoveTrustAnchor(sha256=sha256, actor=_operator()))
    click.echo(json.dumps({"removed": anchor.sha256}))


@trust.command("list")
def trust_list() -> None:
    """The anchors administrators added (our own root is always trusted)."""
    with _installation() as services, services.reading() as session:
        root = services.runtime.authority.root
        rows: list[dict[str, object]] = [
            {
                "sha256": root.fingerprint(hashes.SHA256()).hex(),
                "subject": root.subject.rfc4514_string(),
                "not_after": root.not_valid_after_utc.isoformat(),
                "builtin": True,
            }
        ]
        rows += [
            {
                "sha256": a.sha256,
                "subject": a.subject,
                "not_after": a.not_after.isoformat(),
                "builtin": False,
            }
            for a in list_anchors(session)
        ]
    click.echo(json.dumps(rows, ensure_ascii=False, indent=2))


@main.command()
@click.argument("target", type=click.Path(exists=True))
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON, nothing else.")
@click.option(
    "--trust",
    "trust_files",
    multiple=True,
    type=click.Path(exists=True, dir_okay=False),
    help="Also trust this root (PEM); may be given several times.",
)
@click.option(
    "--online/--offline",
    default=None,
    help="Fetch other CAs' revocation data (default: KYSO_VERIFY_ONLINE).",
)
def verify(target: str, as_json: bool, trust_files: tuple[str, ...], online: bool | None) -> None:
    """Verify FILE.pdf (the API's report), or every PDF in a FOLDER with a summary."""
    from api.verification_cli import verify_command

    sys.exit(
        verify_command(
            _settings(),
            Path(target),
            as_json=as_json,
            trust_files=[Path(t) for t in trust_files],
            online=online,
        )
    )


@main.group()
def billing() -> None:
    """Billing staff's commands: payments, period close."""


@billing.command("top-up")
@click.option("--email", required=True, help="The citizen whose wallet is credited.")
@click.option("--amount", required=True, type=int, help="Whole VND.")
@click.option("--reference", required=True, help="The payment's reference (bank transfer id).")
def top_up_command(email: str, amount: int, reference: str) -> None:
    """Record a payment into the account's prepaid wallet (the same reference twice records
    it once)."""
    command = RecordTopUp(email=email, amount=amount, reference=reference, actor=_operator())
    with _installation() as services:
        done = top_up.record_top_up(services, command)
    printed = {
        "account_id": done.account_id,
        "amount": done.entry.amount,
        "balance": done.balance,
        "reference": reference,
        "recorded": done.recorded,
    }
    click.echo(json.dumps(printed))


@billing.command("import-statement")
@click.argument("statement", type=click.File("rb"))
def import_statement_command(statement: BinaryIO) -> None:
    """Record the top-ups in a bank statement (CSV: date,amount,description,
    bank_transaction_id): each credit whose description holds a wallet's payment code, once;
    prints one JSON line per statement line, then the counts."""
    command = ImportStatement(statement=statement.read(), actor=_operator())
    with _installation() as services:
        done = importing.import_statement(services, command)
    for result in done.lines:
        printed = {"line": result.line.number, "bank_transaction_id": result.line.transaction_id,
                   "amount": result.line.amount, "outcome": result.outcome,
                   "account_id": result.account_id, "reason": result.reason}  # fmt: skip
        click.echo(json.dumps(printed, ensure_ascii=False))
    click.echo(json.dumps({o: done.count(o) for o in importing.OUTCOMES}))


@billing.command("close-period")
@click.option("--period", required=True, help="The Vietnamese calendar month, YYYY-MM.")
def close_period_command(period: str) -> None:
    """Invoice a month that has ended: one invoice per account that used anything."""
    with _installation() as services:
        closed = close_period.close(services, ClosePeriod(period=period, actor=_operator()))
    printed = [
        {"number": i.number, "account_id": i.account_id, "total": i.total} for i in closed.invoices
    ]
    click.echo(
        json.dumps({"period": period, "closed": True, "invoices": printed}, ensure_ascii=False)
    )


@oidc_client.command("list")
def oidc_client_list() -> None:
    """Every relying party, the newest first (JSON lines; never a secret)."""
    with _installation() as services:
        for client in oidc_clients.clients(services):
            click.echo(json.dumps(client.as_dict(), ensure_ascii=False))


@oidc_client.command("show")
@click.argument("client_id")
def oidc_client_show(client_id: str) -> None:
    """One relying party: its redirect URIs, scopes, kind, who registered it, live tokens."""
    with _installation() as services:
        client = oidc_clients.one_client(services, client_id)
    click.echo(json.dumps(client.as_dict(), ensure_ascii=False, indent=2))


@oidc_client.command("remove")
@click.argument("client_id")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def oidc_client_remove(client_id: str, yes: bool) -> None:
    """Remove a relying party: its pending sign-ins, codes and tokens end with it."""
    with _installation() as services:
        if not yes:
            name = oidc_clients.one_client(services, client_id).name
            click.confirm(f"Remove {name} ({client_id}) and end its sign-ins?", abort=True)
        removed = oidc_clients.remove(
            services, oidc_clients.RemoveClient(client_id=client_id, actor=_operator())
        )
    click.echo(json.dumps({"removed": removed.client_id, "name": removed.name,
                           "tokens_ended": removed.live_tokens}, ensure_ascii=False))  # fmt: skip


@oidc_client.command("rotate-secret")
@click.argument("client_id")
def oidc_client_rotate_secret(client_id: str) -> None:
    """A new client secret, printed once (only its hash is kept); the old one stops working."""
    with _installation() as services:
        secret = oidc_clients.rotate(
            services, oidc_clients.RotateSecret(client_id=client_id, actor=_operator())
        )
    click.echo(json.dumps({"client_id": client_id, "client_secret": secret}))


def run() -> None:
    """Entry point that prints domain errors as one clear line instead of a traceback."""
    try:
        main(standalone_mode=True)
    except ValidationError as exc:  # a KYSO_* variable the settings refuse
        for error in exc.errors():
            name = "KYSO_" + "_".join(str(part) for part in error["loc"]).upper()
            click.echo(f"error [config.invalid]: {name.rstrip('_')}: {error['msg']}", err=True)
        sys.exit(1)
    except OperationalError as exc:  # no database server there, or no such database
        settings = _settings()
        given = settings.database_url or settings.sqlalchemy_url  # as the operator wrote it
        where = make_url(given).render_as_string(hide_password=True)
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig is not None else "unreachable"
        click.echo(f"error [database.unreachable]: {where}: {reason}", err=True)
        sys.exit(1)
    except KysoError as exc:
        click.echo(f"error [{exc.code}]: {exc.detail}", err=True)
        if isinstance(exc, InvalidField):
            for field, message in exc.errors.items():
                click.echo(f"  --{field.replace('_', '-')}: {message}", err=True)
        sys.exit(1)
