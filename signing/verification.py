"""Verification of every signature and document time-stamp in a PDF, ours or another CA's,
into a report whose indications follow ETSI EN 319 102-1.

pyHanko validates (integrity, the CMS signature, the certificate path at signing time, the
time-stamps, what changed after each signature); this module decides the moment of
validation, gathers revocation data (the document's DSS, our own CA's answers made in-process,
or the network when allowed) and turns pyHanko's statuses into indications an agency can file.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
from collections.abc import Callable, Sequence
from contextlib import AbstractAsyncContextManager
from contextvars import ContextVar
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO

from asn1crypto import cms, core, tsp
from asn1crypto import crl as asn1_crl
from asn1crypto import ocsp as asn1_ocsp
from asn1crypto import x509 as asn1_x509
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.diff_analysis import ModificationLevel
from pyhanko.sign.fields import SigSeedSubFilter, enumerate_sig_fields
from pyhanko.sign.validation import async_validate_pdf_signature, async_validate_pdf_timestamp
from pyhanko.sign.validation.dss import DocumentSecurityStore
from pyhanko.sign.validation.errors import NoDSSFoundError
from pyhanko.sign.validation.pdf_embedded import EmbeddedPdfSignature
from pyhanko.sign.validation.status import (
    DocumentTimestampStatus,
    PdfSignatureStatus,
    SignatureCoverageLevel,
)
from pyhanko_certvalidator import ValidationContext
from pyhanko_certvalidator.fetchers.api import FetcherBackend

from signing.active_content import scan_active_content
from signing.algorithms import KysoSignatureValidator, UnsupportedAlgorithm, algorithm_name
from signing.annotation_rule import VERIFICATION_DIFF_POLICY
from signing.revisions import LenientDiffPolicy, changed_objects
from signing.verdict_words import say
from signing.view_check import judge_view

__all__ = [
    "INDETERMINATE",
    "TOTAL_FAILED",
    "TOTAL_PASSED",
    "SignatureReport",
    "VerificationReport",
    "VerificationSettings",
    "verify_pdf",
]

TOTAL_PASSED, TOTAL_FAILED, INDETERMINATE = "TOTAL_PASSED", "TOTAL_FAILED", "INDETERMINATE"
_SEVERITY = {TOTAL_PASSED: 0, INDETERMINATE: 1, TOTAL_FAILED: 2}
_WEAK_DIGESTS = {"md5", "sha1"}
_MAX_OWN_LOOKUPS = 8
_DIFF_POLICY = LenientDiffPolicy(VERIFICATION_DIFF_POLICY)
_SIGNATURE_VALIDATOR = KysoSignatureValidator()
_CHANGES = {
    ModificationLevel.NONE: "none",
    ModificationLevel.LTA_UPDATES: "validation_data",
    ModificationLevel.FORM_FILLING: "form_filling",
    ModificationLevel.ANNOTATIONS: "annotations",
    ModificationLevel.OTHER: "other",
}

RevocationSupplier = Callable[
    [asn1_x509.Certificate], tuple[list[asn1_ocsp.OCSPResponse], list[asn1_crl.CertificateList]]
]
"""OCSP answers and CRLs for certificates our own CA issued, made in-process (nothing for
others)."""


@dataclass(frozen=True)
class VerificationSettings:
    """What a verification trusts and may consult."""

    trust_roots: Sequence[asn1_x509.Certificate]
    """Our root and the anchors an administrator added (and any given on the command line)."""
    online: bool = False
    """Fetch OCSP answers and CRLs of other CAs over the network."""
    fetchers: Callable[[], AbstractAsyncContextManager[FetcherBackend]] | None = None
    """Opens the network fetchers for one verification (the caller's HTTP client; without
    it, online fetching is off)."""
    local_revocation: RevocationSupplier | None = None
    """Our own CA's records, for our certificates, when the document carries none."""
    now: datetime | None = None


@dataclass
class SignatureReport:
    """One signature (or document time-stamp) judged."""

    field: str
    kind: str
    """``signature`` or ``document_timestamp``."""
    indication: str
    subindication: str | None
    signer: dict[str, Any] | None = None
    chain: list[dict[str, str]] = dataclasses.field(default_factory=list)
    trust_anchor: str | None = None
    claimed_signing_time: str | None = None
    timestamp_time: str | None = None
    level: str | None = None
    """``B-B``, ``B-T``, ``B-LT`` or ``B-LTA`` (signatures only)."""
    coverage: dict[str, Any] = dataclasses.field(default_factory=dict)
    modifications: dict[str, Any] = dataclasses.field(default_factory=dict)
    revocation: dict[str, Any] = dataclasses.field(default_factory=dict)
    algorithms: dict[str, str] = dataclasses.field(default_factory=dict)
    warnings: list[str] = dataclasses.field(default_factory=list)
    reasons: list[str] = dataclasses.field(default_factory=list)
    """Why the indication is not TOTAL_PASSED, in plain words."""
    reason_codes: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    """The same reasons as codes with their values (for programs, and for other languages)."""
    warning_codes: list[dict[str, Any]] = dataclasses.field(default_factory=list)

    def reason(self, code: str, **values: Any) -> None:
        self.reason_codes.append({"code": code, **values})
        self.reasons.append(say(code, values))

    def warn(self, code: str, **values: Any) -> None:
        self.warning_codes.append({"code": code, **values})
        self.warnings.append(say(code, values))


@dataclass
class VerificationReport:
    indication: str
    subindication: str | None
    file: dict[str, Any]
    signatures: list[SignatureReport]
    validated_at: str
    reasons: list[str] = dataclasses.field(default_factory=list)
    reason_codes: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    warnings: list[str] = dataclasses.field(default_factory=list)
    """About the document itself (active content, forms), in plain words."""
    warning_codes: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    active_content: list[dict[str, str]] = dataclasses.field(default_factory=list)
    """JavaScript, actions, embedded files and XFA found, each with where it is."""

    def warn(self, code: str, **values: Any) -> None:
        self.warning_codes.append({"code": code, **values})
        self.warnings.append(say(code, values))

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> VerificationReport:
        """The report back from ``as_dict`` (as kept, or as the API returned it)."""
        fields = {k: v for k, v in data.items() if k != "signatures"}
        return cls(**fields, signatures=[SignatureReport(**s) for s in data["signatures"]])


def verify_pdf(path: Path, settings: VerificationSettings) -> VerificationReport:
    """Verify every signature in the file (never raises for a bad document: a file that cannot
    be read is ``TOTAL_FAILED`` / ``FORMAT_FAILURE``)."""
    now = settings.now or datetime.now(UTC)
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        while chunk := stream.read(1024 * 1024):
            digest.update(chunk)
    facts: dict[str, Any] = {
        "name": path.name,
        "size": path.stat().st_size,
        "sha256": digest.hexdigest(),
    }
    try:
        with path.open("rb") as stream:
            signatures = asyncio.run(_with_fetchers(stream, path, settings, now, facts))
    except RecursionError:
        return _document_failure(
            "FORMAT_FAILURE", facts, now, "unreadable_file", detail="objects nested too deeply"
        )
    except Exception as exc:
        return _document_failure(
            "FORMAT_FAILURE", facts, now, "unreadable_file", detail=_short(exc)
        )
    active = facts.pop("active_content", [])
    if not signatures:
        report = _document_failure("SIGNED_DATA_NOT_FOUND", facts, now, "no_signature")
        _warn_active(report, active)
        return report
    worst = max(signatures, key=lambda s: _SEVERITY[s.indication])
    if all(s.kind == "document_timestamp" for s in signatures) and worst.indication != (
        TOTAL_FAILED
    ):
        # a time-stamp proves when the document existed, not that anyone signed it
        report = _document_failure("SIGNED_DATA_NOT_FOUND", facts, now, "only_timestamps")
        report.indication = INDETERMINATE
        report.signatures = signatures
        _warn_active(report, active)
        return report
    reasons = [f"{s.field}: {r}" for s in signatures for r in s.reasons]
    codes = [{"field": s.field, **c} for s in signatures for c in s.reason_codes]
    report = VerificationReport(
        worst.indication, worst.subindication, facts, signatures, now.isoformat(), reasons, codes
    )
    _warn_active(report, active)
    return report


def _warn_active(report: VerificationReport, active: list[dict[str, str]]) -> None:
    report.active_content = active
    for item in active:
        report.warn(f"active_{item['kind']}", where=item["where"])


def _document_failure(
    subindication: str, facts: dict[str, Any], now: datetime, code: str, **values: Any
) -> VerificationReport:
    return VerificationReport(
        TOTAL_FAILED,
        subindication,
        facts,
        [],
        now.isoformat(),
        [say(code, values)],
        [{"code": code, **values}],
    )


def _short(exc: BaseException) -> str:
    return (str(exc) or type(exc).__name__).replace("0x0x", "0x")[:200]


_FETCHERS: ContextVar[FetcherBackend | None] = ContextVar("kyso_fetchers", default=None)
"""The network fetchers of one verification that may go online (closed when it ends)."""


async def _with_fetchers(
    stream: BinaryIO,
    path: Path,
    settings: VerificationSettings,
    now: datetime,
    facts: dict[str, Any],
) -> list[SignatureReport]:
    if not settings.online or settings.fetchers is None:
        return await _verify_stream(stream, path, settings, now, facts)
    async with settings.fetchers() as backend:
        token = _FETCHERS.set(backend)
        try:
            return await _verify_stream(stream, path, settings, now, facts)
        finally:
            _FETCHERS.reset(token)


async def _verify_stream(
    stream: BinaryIO,
    path: Path,
    settings: VerificationSettings,
    now: datetime,
    facts: dict[str, Any],
) -> list[SignatureReport]:
    # Read as readers do (hybrid references, repaired cross-reference tables): what each
    # revision shows is compared afterwards, object by object and as drawn.
    reader = PdfFileReader(stream, strict=False)
    if reader.encrypted:  # restricted by an owner password only: readers open it as is
        result = reader.decrypt(b"")
        if (
            result is None
            or getattr(result, "status", None) is None
            or (str(getattr(result.status, "name", "")) == "FAILED")
        ):
            raise ValueError("the document is encrypted with a password")
    facts["revisions"] = reader.xrefs.total_revisions
    facts["pages"] = int(reader.root["/Pages"]["/Count"])
    facts["active_content"] = scan_active_content(reader)
    try:
        dss: DocumentSecurityStore | None = DocumentSecurityStore.read_dss(reader)
    except NoDSSFoundError:
        dss = None
    embedded, broken = _embedded_signatures(reader)
    reports: list[tuple[int, SignatureReport]] = [(-1, report) for report in broken]
    for index, sig in enumerate(embedded):
        later = embedded[index + 1 :]
        try:
            if sig.sig_object_type == "/DocTimeStamp":
                report = await _timestamp_report(sig, reader, settings, dss)
            else:
                report = await _signature_report(sig, reader, path, settings, dss, now, later)
        except UnsupportedAlgorithm as exc:
            report = SignatureReport(
                field=_field_name(sig),
                kind="signature",
                indication=INDETERMINATE,
                subindication="GENERIC",
            )
            report.algorithms = {"signature": exc.algorithm}
            report.reason("algorithm_unsupported", algorithm=exc.algorithm)
        except Exception as exc:
            report = SignatureReport(
                field=_field_name(sig),
                kind="signature",
                indication=TOTAL_FAILED,
                subindication="FORMAT_FAILURE",
            )
            report.reason("unreadable_signature", detail=_short(exc))
        reports.append((sig.signed_revision, report))
    for revision, report in reports:  # B-LTA: a later document time-stamp that passed
        if report.level == "B-LT" and any(
            other.kind == "document_timestamp"
            and other.indication == TOTAL_PASSED
            and later_revision > revision
            for later_revision, other in reports
        ):
            report.level = "B-LTA"
    return [report for _, report in reports]


def _embedded_signatures(
    reader: PdfFileReader,
) -> tuple[list[EmbeddedPdfSignature], list[SignatureReport]]:
    """The readable signatures in signing order, and a FORMAT_FAILURE report for each one
    whose signature value cannot even be parsed (the others are still judged)."""
    found: list[EmbeddedPdfSignature] = []
    broken: list[SignatureReport] = []
    for name, value, field in enumerate_sig_fields(reader, filled_status=True):
        try:
            subfilter = value.get_object().get("/SubFilter")
            if subfilter is not None and str(subfilter) not in _SUBFILTERS:
                continue  # not a kind of signature this reader knows (pyHanko skips it too)
            found.append(EmbeddedPdfSignature(reader, field, name))
        except Exception as exc:
            report = SignatureReport(
                field=str(name), kind="signature", indication=TOTAL_FAILED,
                subindication="FORMAT_FAILURE",
            )  # fmt: skip
            report.reason("unreadable_signature", detail=_short(exc))
            broken.append(report)
    return sorted(found, key=lambda s: s.signed_revision), broken


_SUBFILTERS = {str(s.value) for s in SigSeedSubFilter}


def _field_name(sig: EmbeddedPdfSignature) -> str:
    try:
        return str(sig.field_name)
    except (KeyError, AttributeError):
        return "?"


def _context(
    settings: VerificationSettings,
    dss: DocumentSecurityStore | None,
    certs: list[asn1_x509.Certificate],
    *,
    moment: datetime | None,
    own: _OwnRevinfo,
) -> ValidationContext:
    kwargs: dict[str, Any] = {
        "trust_roots": list(settings.trust_roots),
        "allow_fetching": settings.online and settings.fetchers is not None,
        "fetcher_backend": _FETCHERS.get() if settings.online else None,
        "revocation_mode": "hard-fail",
        "other_certs": certs,
        "ocsps": own.ocsps,
        "crls": own.crls,
        "moment": moment,
        "retroactive_revinfo": moment is not None,
        "signature_validator": _SIGNATURE_VALIDATOR,
    }
    if dss is not None:
        return dss.as_validation_context(kwargs)
    return ValidationContext(**kwargs)


def _embedded_timestamp_time(sig: EmbeddedPdfSignature) -> datetime | None:
    """The signature time-stamp's claimed time, read without checking it (pyHanko checks it
    in the same pass; if it fails, we validate again at the present)."""
    token = _timestamp_token(sig)
    if token is None:
        return None
    content = token["content"]["encap_content_info"]["content"].parsed
    if not isinstance(content, tsp.TSTInfo):
        return None
    when: datetime = content["gen_time"].native
    return when


@dataclass(frozen=True)
class _OwnRevinfo:
    ocsps: list[asn1_ocsp.OCSPResponse]
    crls: list[asn1_crl.CertificateList]

    def __bool__(self) -> bool:
        return bool(self.ocsps or self.crls)


def _own_revocation(
    settings: VerificationSettings,
    certs: list[asn1_x509.Certificate],
    dss: DocumentSecurityStore | None,
) -> _OwnRevinfo:
    """Our CA's answers for the certificates that name it (whatever the document carries: a
    DSS with unrelated data must not hide one of our revocations); a few at most."""
    del dss
    ocsps: list[asn1_ocsp.OCSPResponse] = []
    crls: list[asn1_crl.CertificateList] = []
    if settings.local_revocation is not None:
        certs = certs[:_MAX_OWN_LOOKUPS]
        seen = set()
        for cert in certs:
            if cert.dump() in seen:
                continue
            seen.add(cert.dump())
            found_ocsps, found_crls = settings.local_revocation(cert)
            ocsps += found_ocsps
            crls += [c for c in found_crls if all(c.dump() != d.dump() for d in crls)]
    return _OwnRevinfo(ocsps, crls)


def _signature_certs(sig: EmbeddedPdfSignature) -> list[asn1_x509.Certificate]:
    certs = [
        c.chosen
        for c in sig.signed_data["certificates"] or ()
        if isinstance(c.chosen, asn1_x509.Certificate)
    ]
    timestamp = _timestamp_token(sig)
    if timestamp is not None:
        certs += [
            c.chosen
            for c in timestamp["content"]["certificates"] or ()
            if isinstance(c.chosen, asn1_x509.Certificate)
        ]
    return certs


def _timestamp_token(sig: EmbeddedPdfSignature) -> cms.ContentInfo | None:
    unsigned = sig.signer_info["unsigned_attrs"]
    if isinstance(unsigned, core.Void) or len(unsigned) == 0:
        return None
    for attribute in unsigned:
        if attribute["type"].native == "signature_time_stamp_token":
            token: cms.ContentInfo = attribute["values"][0]
            return token
    return None


async def _signature_report(
    sig: EmbeddedPdfSignature,
    reader: PdfFileReader,
    path: Path,
    settings: VerificationSettings,
    dss: DocumentSecurityStore | None,
    now: datetime,
    later: list[EmbeddedPdfSignature],
) -> SignatureReport:
    certs = _signature_certs(sig)
    own = _own_revocation(settings, certs, dss)
    claimed_ts = _embedded_timestamp_time(sig)
    status = await _validate(sig, settings, dss, certs, own, moment=claimed_ts)
    timestamp = status.timestamp_validity
    timestamp_ok = (
        timestamp is not None and timestamp.intact and timestamp.valid and (timestamp.trusted)
    )
    if claimed_ts is not None and not timestamp_ok:  # the time-stamp proves nothing: judge now
        status = await _validate(sig, settings, dss, certs, own, moment=None)
    elif timestamp is not None and timestamp_ok and timestamp.timestamp != claimed_ts:
        # the first token was not the trusted one: judge at the time the trusted one proves
        status = await _validate(sig, settings, dss, certs, own, moment=timestamp.timestamp)
    report = SignatureReport(
        field=_field_name(sig), kind="signature", indication=TOTAL_PASSED, subindication=None
    )
    _describe_signer(report, status)
    report.claimed_signing_time = _iso(status.signer_reported_dt)
    report.timestamp_time = _iso(timestamp.timestamp) if timestamp is not None else None
    report.coverage = {
        "whole_document": status.coverage == SignatureCoverageLevel.ENTIRE_FILE,
        "revision": sig.signed_revision + 1,
        "revisions": reader.xrefs.total_revisions,
    }
    report.modifications = _modifications(sig, reader, status)
    report.algorithms = {
        "digest": status.md_algorithm,
        "signature": algorithm_name(sig.signer_info["signature_algorithm"]),
    }
    report.revocation = _revocation(status, dss, own, settings)
    report.level = _level(timestamp_ok, dss, sig, later)
    tail = _unsigned_tail(reader, sig, later)
    _judge(report, status, timestamp_ok)
    judge_view(report, reader, path, sig.signed_revision, _signed_end(sig), tail=tail)
    _warn(report, status, timestamp_ok, now, tail)
    return report


def _signed_end(sig: EmbeddedPdfSignature) -> int:
    """Where the signed revision ends in the file."""
    return int(sig.byte_range[-2]) + int(sig.byte_range[-1])


def _unsigned_tail(
    reader: PdfFileReader, sig: EmbeddedPdfSignature, later: list[EmbeddedPdfSignature]
) -> int:
    """Bytes after the end of the last revision that nothing covers (only reported once, on
    the last signature): data appended after %%EOF."""
    if later or sig.signed_revision + 1 < reader.xrefs.total_revisions:
        return 0
    covered = sig.byte_range[-2] + sig.byte_range[-1]
    stream = reader.stream
    stream.seek(0, 2)
    size = stream.tell()
    remainder = size - covered
    if remainder <= 0:
        return 0
    stream.seek(covered)
    extra = stream.read(min(remainder, 64))
    return 0 if not extra.strip(b"\r\n\x00 ") and remainder <= 64 else remainder


async def _validate(
    sig: EmbeddedPdfSignature,
    settings: VerificationSettings,
    dss: DocumentSecurityStore | None,
    certs: list[asn1_x509.Certificate],
    own: _OwnRevinfo,
    *,
    moment: datetime | None,
) -> PdfSignatureStatus:
    signer_context = _context(settings, dss, certs, moment=moment, own=own)
    timestamp_context = _context(settings, dss, certs, moment=None, own=own)
    return await async_validate_pdf_signature(
        sig,
        signer_context,
        ts_validation_context=timestamp_context,
        diff_policy=_DIFF_POLICY,
    )


def _indic_name(indic: object) -> str:
    """The ETSI name of a pyHanko AdES subindication."""
    return str(getattr(indic, "name", indic))


def _iso(value: datetime | None) -> str | None:
    return value.astimezone(UTC).isoformat() if value is not None else None


def _name_parts(name: asn1_x509.Name) -> dict[str, str]:
    native = name.native
    return {str(k): str(v if not isinstance(v, list) else v[0]) for k, v in native.items()}


def _describe_signer(
    report: SignatureReport, status: PdfSignatureStatus | DocumentTimestampStatus
) -> None:
    cert = status.signing_cert
    parts = _name_parts(cert.subject)
    report.signer = {
        "name": parts.get("common_name"),
        "uid": parts.get("user_id"),
        "organisation": parts.get("organization_name"),
        "email": parts.get("email_address"),
        "serial": format(cert.serial_number, "x"),
        "issuer": cert.issuer.human_friendly,
        "not_before": _iso(cert["tbs_certificate"]["validity"]["not_before"].native),
        "not_after": _iso(cert["tbs_certificate"]["validity"]["not_after"].native),
        "sha256": hashlib.sha256(cert.dump()).hexdigest(),
    }
    path = status.validation_path
    if path is not None:
        chain = list(path)
        report.chain = [
            {
                "subject": c.subject.human_friendly,
                "serial": format(c.serial_number, "x"),
                "sha256": hashlib.sha256(c.dump()).hexdigest(),
            }
            for c in reversed(chain)
        ]
        report.trust_anchor = chain[0].subject.human_friendly


def _modifications(
    sig: EmbeddedPdfSignature, reader: PdfFileReader, status: PdfSignatureStatus
) -> dict[str, Any]:
    level = status.modification_level
    docmdp = sig.docmdp_level
    named = _CHANGES.get(level, "other") if level is not None else "unknown"
    changes = [] if named in ("none", "validation_data") else _object_changes(reader, sig)
    return {
        "level": named,
        "allowed": bool(status.docmdp_ok),
        "certification": int(docmdp.value) if docmdp is not None else None,
        "pages": []
        if named in ("none", "validation_data")
        else _changed_pages(reader, sig.signed_revision),
        "changes": changes,
    }


def _object_changes(reader: PdfFileReader, sig: EmbeddedPdfSignature) -> list[dict[str, Any]]:
    try:
        found = changed_objects(reader, sig.signed_revision)
    except RecursionError:
        return [{"kind": "unreadable", "page": 0, "detail": "nested too deeply"}]
    except Exception as exc:
        return [{"kind": "unreadable", "page": 0, "detail": _short(exc)}]
    return [{"kind": c.kind, "page": c.page, "detail": c.detail} for c in found]


def _page_refs(node: generic.DictionaryObject, into: list[generic.Reference]) -> None:
    for kid in node.get("/Kids", generic.ArrayObject()):
        child = kid.get_object()
        if child.get("/Type") == "/Pages":
            _page_refs(child, into)
        else:
            into.append(kid.reference if hasattr(kid, "reference") else kid)


def _changed_pages(reader: PdfFileReader, revision: int) -> list[int]:
    """1-based pages whose page object, content streams or annotations changed, or that did
    not exist, after ``revision`` (none when the page tree cannot be read)."""
    try:
        return _pages_touched(reader, revision)
    except (RecursionError, Exception):
        return []


def _pages_touched(reader: PdfFileReader, revision: int) -> list[int]:
    if revision + 1 >= reader.xrefs.total_revisions:
        return []
    now_refs: list[generic.Reference] = []
    _page_refs(reader.root["/Pages"], now_refs)
    then: list[generic.Reference] = []
    _page_refs(reader.get_historical_resolver(revision).root["/Pages"], then)
    known = {(r.idnum, r.generation) for r in then}
    changed = []
    for number, ref in enumerate(now_refs, start=1):
        touched = [ref]
        page = ref.get_object()
        assert isinstance(page, generic.DictionaryObject)
        raw = page.raw_get("/Contents") if "/Contents" in page else None
        if isinstance(raw, generic.IndirectObject):
            touched.append(raw.reference)
        elif isinstance(raw, generic.ArrayObject):
            touched += [item.reference for item in raw if isinstance(item, generic.IndirectObject)]
        if (ref.idnum, ref.generation) not in known or any(
            reader.xrefs.get_last_change(r) > revision for r in touched
        ):
            changed.append(number)
    return changed


def _revocation(
    status: PdfSignatureStatus,
    dss: DocumentSecurityStore | None,
    own: _OwnRevinfo,
    settings: VerificationSettings,
) -> dict[str, Any]:
    details = status.revocation_details
    source = (
        "document"
        if _dss_covers(dss, status.signing_cert)
        else "kyso"
        if own
        else "online"
        if settings.online
        else "none"
    )
    if details is not None:
        state = "revoked"
    elif status.trusted and source == "none":
        state = "not_checked"  # the certificate named no revocation service to ask
    elif status.trusted:
        state = "good"
    else:
        state = "unknown"
    return {
        "status": state,
        "source": source,
        "revoked_at": _iso(details.revocation_date) if details is not None else None,
        "reason": details.revocation_reason.native if details is not None else None,
    }


def _level(
    timestamp_ok: bool,
    dss: DocumentSecurityStore | None,
    sig: EmbeddedPdfSignature,
    later: list[EmbeddedPdfSignature],
) -> str:
    if not timestamp_ok:
        return "B-B"
    if not _dss_covers(dss, sig.signer_cert):
        return "B-T"
    return "B-LT"  # B-LTA once a later document time-stamp is seen to pass


def _dss_covers(dss: DocumentSecurityStore | None, cert: asn1_x509.Certificate) -> bool:
    """Whether the document's DSS holds revocation data about ``cert``: an OCSP answer for
    its serial, or a CRL from its issuer."""
    if dss is None:
        return False
    for ocsp_ref in dss.ocsps:
        try:
            answer = asn1_ocsp.OCSPResponse.load(ocsp_ref.get_object().data)
            for single in answer.basic_ocsp_response["tbs_response_data"]["responses"]:
                if single["cert_id"]["serial_number"].native == cert.serial_number:
                    return True
        except (ValueError, KeyError, TypeError, AttributeError):
            continue
    for crl_ref in dss.crls:
        try:
            crl = asn1_crl.CertificateList.load(crl_ref.get_object().data)
            if crl.issuer == cert.issuer:
                return True
        except (ValueError, KeyError, TypeError, AttributeError):
            continue
    return False


def _judge(report: SignatureReport, status: PdfSignatureStatus, timestamp_ok: bool) -> None:
    def fail(indication: str, sub: str, code: str, **values: Any) -> None:
        if (
            report.indication == TOTAL_PASSED
            or _SEVERITY[indication] > _SEVERITY[report.indication]
        ):
            report.indication, report.subindication = indication, sub
        report.reason(code, **values)

    if not status.intact:
        fail(TOTAL_FAILED, "HASH_FAILURE", "content_changed")
    elif not status.valid:
        fail(TOTAL_FAILED, "SIG_CRYPTO_FAILURE", "signature_mismatch")
    if status.docmdp_ok is False:
        fail(
            TOTAL_FAILED,
            "SIG_CONSTRAINTS_FAILURE",
            "forbidden_changes",
            changes=report.modifications.get("level"),
        )
    if status.revoked:
        revoked_at = report.revocation.get("revoked_at")
        if timestamp_ok:
            fail(TOTAL_FAILED, "REVOKED", "revoked_before_signing", at=revoked_at)
        else:
            fail(INDETERMINATE, "REVOKED_NO_POE", "revoked_no_proof", at=revoked_at)
    elif status.trust_problem_indic is not None:
        indic = status.trust_problem_indic
        name = _indic_name(indic)
        indication = TOTAL_FAILED if type(indic).__name__ == "AdESFailure" else INDETERMINATE
        if name in _KNOWN_TRUST_PROBLEMS:
            fail(indication, name, name)
        else:
            fail(indication, name, "trust_problem", problem=name)


_KNOWN_TRUST_PROBLEMS = {
    "NO_CERTIFICATE_CHAIN_FOUND",
    "OUT_OF_BOUNDS_NO_POE",
    "CERTIFICATE_CHAIN_GENERAL_FAILURE",
    "REVOKED_NO_POE",
    "EXPIRED",
    "NOT_YET_VALID",
}


def _warn(
    report: SignatureReport,
    status: PdfSignatureStatus,
    timestamp_ok: bool,
    now: datetime,
    tail: int,
) -> None:
    if status.md_algorithm.lower() in _WEAK_DIGESTS:
        report.warn("weak_digest", algorithm=status.md_algorithm)
    if not timestamp_ok:
        report.warn("no_timestamp")
    not_after = status.signing_cert["tbs_certificate"]["validity"]["not_after"].native
    if not_after < now:
        report.warn("expired_since", at=_iso(not_after))
    if report.modifications.get("level") not in ("none", "validation_data", None):
        report.warn(
            "changed_after",
            changes=report.modifications["level"],
            pages=report.modifications.get("pages") or [],
        )
    if tail:
        report.warn("unsigned_tail", bytes=tail)
    if report.revocation.get("status") == "not_checked":
        report.warn("revocation_not_checked")


async def _timestamp_report(
    sig: EmbeddedPdfSignature,
    reader: PdfFileReader,
    settings: VerificationSettings,
    dss: DocumentSecurityStore | None,
) -> SignatureReport:
    certs = _signature_certs(sig)
    own = _own_revocation(settings, certs, dss)
    context = _context(settings, dss, certs, moment=None, own=own)
    status: DocumentTimestampStatus = await async_validate_pdf_timestamp(
        sig, context, diff_policy=_DIFF_POLICY
    )
    report = SignatureReport(
        field=_field_name(sig),
        kind="document_timestamp",
        indication=TOTAL_PASSED,
        subindication=None,
        timestamp_time=_iso(status.timestamp),
    )
    report.coverage = {
        "whole_document": status.coverage == SignatureCoverageLevel.ENTIRE_FILE,
        "revision": sig.signed_revision + 1,
        "revisions": reader.xrefs.total_revisions,
    }
    _describe_signer(report, status)
    level = status.modification_level
    named = _CHANGES.get(level, "other") if level is not None else "unknown"
    report.modifications = {
        "level": named,
        "allowed": bool(status.docmdp_ok),
        "certification": None,
        "pages": []
        if named in ("none", "validation_data")
        else _changed_pages(reader, sig.signed_revision),
    }
    if not status.intact:
        report.indication, report.subindication = TOTAL_FAILED, "HASH_FAILURE"
        report.reason("timestamp_content_changed")
    elif not status.valid:
        report.indication, report.subindication = TOTAL_FAILED, "SIG_CRYPTO_FAILURE"
        report.reason("timestamp_mismatch")
    elif status.docmdp_ok is False or named == "other":
        report.indication, report.subindication = TOTAL_FAILED, "SIG_CONSTRAINTS_FAILURE"
        report.reason("forbidden_changes", changes=named)
    elif status.trust_problem_indic is not None:
        problem = _indic_name(status.trust_problem_indic)
        report.indication, report.subindication = INDETERMINATE, problem
        report.reason("timestamp_untrusted", problem=problem)
    return report
