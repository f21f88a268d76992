"""``kyso verify``: one file's report, or a folder's PDFs with a progress bar and a summary."""

from __future__ import annotations

import json
import logging
import sys
from collections import Counter
from pathlib import Path

import click

from api.bootstrap import NoInstallation, open_runtime
from api.outbound import fetch_policy, http_fetchers
from api.settings import Settings
from api.usecases.services import build_services
from api.usecases.verify import verification_settings
from signing.trust import load_certificates
from signing.verification import TOTAL_PASSED, VerificationSettings, verify_pdf

__all__ = ["quiet_pyhanko", "verify_command"]


def _settings(
    settings: Settings, trust_files: list[Path], online: bool | None
) -> VerificationSettings:
    extra = [cert for path in trust_files for cert in load_certificates(path.read_bytes())]
    try:
        runtime = open_runtime(settings, create=False)
    except NoInstallation:  # verifying where no kyso runs: only the roots given are trusted
        click.echo(
            "note: no kyso installation here (KYSO_DATA_DIR / KYSO_DATABASE_URL): only "
            "the roots given with --trust are trusted",
            err=True,
        )
        fetchers = http_fetchers(fetch_policy(settings.verify_private_addresses))
        return VerificationSettings(trust_roots=extra, online=bool(online), fetchers=fetchers)
    # kept open while the documents are verified: our CA's records answer for ours
    return verification_settings(build_services(runtime), extra_roots=extra, online=online)


def quiet_pyhanko() -> None:
    """pyHanko logs each refused change with a traceback; the report says it in words."""
    logging.getLogger("pyhanko").setLevel(logging.CRITICAL)


def verify_command(
    settings: Settings, target: Path, *, as_json: bool, trust_files: list[Path], online: bool | None
) -> int:
    """Exit status 0 when every document verified TOTAL_PASSED, 1 otherwise."""
    quiet_pyhanko()
    verification = _settings(settings, trust_files, online)
    if target.is_file():
        report = verify_pdf(target, verification)
        if as_json:
            click.echo(json.dumps(report.as_dict(), ensure_ascii=False))
        else:
            _print_report(report.as_dict())
        return 0 if report.indication == TOTAL_PASSED else 1
    files = sorted(p for p in target.rglob("*") if p.is_file() and p.suffix.lower() == ".pdf")
    if not files:
        click.echo(f"no PDF file in {target}", err=True)
        return 1
    results = []
    with click.progressbar(
        files, label="Verifying", file=sys.stderr, item_show_func=lambda p: p.name if p else ""
    ) as bar:
        for path in bar:
            results.append((path, verify_pdf(path, verification)))
    if as_json:
        click.echo(
            json.dumps(
                [{"file": str(p.relative_to(target)), "report": r.as_dict()} for p, r in results],
                ensure_ascii=False,
            )
        )
    else:
        width = max([len(str(p.relative_to(target))) for p, _ in results] + [4])
        click.echo(f"{'file':<{width}}  {'indication':<14} {'subindication':<36} signatures")
        for path, report in results:
            click.echo(
                f"{path.relative_to(target)!s:<{width}}  {report.indication:<14} "
                f"{report.subindication or '-':<36} {len(report.signatures)}"
            )
        counts = Counter(r.indication for _, r in results)
        click.echo(
            f"{len(results)} documents: "
            + ", ".join(
                f"{counts[k]} {k}" for k in ("TOTAL_PASSED", "INDETERMINATE", "TOTAL_FAILED")
            )
        )
    return 0 if all(r.indication == TOTAL_PASSED for _, r in results) else 1


def _print_report(report: dict[str, object]) -> None:
    sub = f" / {report['subindication']}" if report.get("subindication") else ""
    click.echo(f"{report['file']['name']}: {report['indication']}{sub}")  # type: ignore[index]
    for signature in report["signatures"]:  # type: ignore[attr-defined]
        signer = (signature.get("signer") or {}).get("name") or "?"
        sub = f" / {signature['subindication']}" if signature.get("subindication") else ""
        click.echo(
            f"  {signature['kind']} {signature['field']}: {signature['indication']}{sub}"
            f" — {signer}, level {signature.get('level') or '-'}, time-stamp "
            f"{signature.get('timestamp_time') or '-'}"
        )
        for line in signature.get("reasons", []) + signature.get("warnings", []):
            click.echo(f"    {line}")
    for reason in report.get("reasons", []) if not report.get("signatures") else []:  # type: ignore[attr-defined]
        click.echo(f"  {reason}")
