"""Another CA than kyso's, built by the tests: a root, a signer and a TSA with the validity
dates a fixture needs, CRLs that revoke when a fixture says, and pyHanko signing with it."""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from asn1crypto import crl as asn1_crl
from asn1crypto import keys as asn1_keys
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign import signers, timestamps
from pyhanko.sign.fields import MDPPerm, SigSeedSubFilter
from pyhanko.sign.validation.dss import DocumentSecurityStore
from pyhanko_certvalidator.registry import SimpleCertificateStore

NOW = datetime.now(UTC).replace(microsecond=0)
CRL_URL = "http://foreign-ca.invalid/root.crl"
"""Declared in the certificates; never reachable: its CRLs reach a verifier in the DSS."""


def _name(common: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "VN"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Foreign Trust CA"),
            x509.NameAttribute(NameOID.COMMON_NAME, common),
        ]
    )


def _asn1(cert: x509.Certificate) -> asn1_x509.Certificate:
    return asn1_x509.Certificate.load(cert.public_bytes(serialization.Encoding.DER))


def _key_info(key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey) -> asn1_keys.PrivateKeyInfo:
    return asn1_keys.PrivateKeyInfo.load(
        key.private_bytes(
            serialization.Encoding.DER,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )


PrivateKey = ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey


@dataclass
class Issued:
    cert: x509.Certificate
    key: PrivateKey

    @property
    def asn1(self) -> asn1_x509.Certificate:
        return _asn1(self.cert)


@dataclass
class ForeignPki:
    """A root and what it issued; ``revoked`` maps serial → revocation time for its CRL."""

    root: Issued
    revoked: dict[int, datetime] = field(default_factory=dict)
    crl_url: str = CRL_URL
    """Written into the certificates it issues (an unreachable name unless a test serves it)."""

    @classmethod
    def create(cls, name: str = "Foreign Root CA") -> ForeignPki:
        key = ec.generate_private_key(ec.SECP256R1())
        cert = (
            x509.CertificateBuilder()
            .subject_name(_name(name))
            .issuer_name(_name(name))
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(NOW - timedelta(days=3650))
            .not_valid_after(NOW + timedelta(days=3650))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(
                x509.KeyUsage(False, False, False, False, False, True, True, False, False),
                critical=True,
            )
            .add_extension(
                x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False
            )
            .sign(key, hashes.SHA256())
        )
        return cls(Issued(cert, key))

    @property
    def root_pem(self) -> bytes:
        return self.root.cert.public_bytes(serialization.Encoding.PEM)

    def issue(
        self,
        common: str,
        *,
        not_before: datetime,
        not_after: datetime,
        tsa: bool = False,
        uid: str | None = None,
    ) -> Issued:
        key: PrivateKey = (
            rsa.generate_private_key(65537, 2048)
            if tsa
            else ec.generate_private_key(ec.SECP256R1())
        )  # pyHanko's test time-stamper signs with RSA only
        subject = [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "VN"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Công ty Ví Dụ"),
            x509.NameAttribute(NameOID.COMMON_NAME, common),
        ]
        if uid:
            subject.append(x509.NameAttribute(NameOID.USER_ID, uid))
        builder = (
            x509.CertificateBuilder()
            .subject_name(x509.Name(subject))
            .issuer_name(self.root.cert.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(not_before)
            .not_valid_after(not_after)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(self.root.key.public_key()),
                critical=False,
            )
            .add_extension(
                x509.CRLDistributionPoints(
                    [
                        x509.DistributionPoint(
                            [x509.UniformResourceIdentifier(self.crl_url)], None, None, None
                        )
                    ]
                ),
                critical=False,
            )
        )
        if tsa:
            builder = builder.add_extension(
                x509.ExtendedKeyUsage([ExtendedKeyUsageOID.TIME_STAMPING]), critical=True
            )
            builder = builder.add_extension(
                x509.KeyUsage(True, False, False, False, False, False, False, False, False),
                critical=True,
            )
        else:
            builder = builder.add_extension(
                x509.KeyUsage(True, True, False, False, False, False, False, False, False),
                critical=True,
            )
        return Issued(builder.sign(self.root.key, hashes.SHA256()), key)

    def crl(self, at: datetime) -> bytes:
        builder = (
            x509.CertificateRevocationListBuilder()
            .issuer_name(self.root.cert.subject)
            .last_update(at)
            .next_update(at + timedelta(days=7))
        )
        for serial, when in self.revoked.items():
            builder = builder.add_revoked_certificate(
                x509.RevokedCertificateBuilder().serial_number(serial).revocation_date(when).build()
            )
        return builder.sign(self.root.key, hashes.SHA256()).public_bytes(serialization.Encoding.DER)

    def sign(
        self,
        pdf: bytes,
        signer: Issued,
        *,
        tsa: Issued | None = None,
        at: datetime | None = None,
        revocation: list[bytes] | None = None,
        field_name: str = "Signature1",
        reason: str | None = None,
        certify: int | None = None,
        bytes_reserved: int | None = None,
    ) -> bytes:
        """Sign with pyHanko; a time-stamp from ``tsa`` at ``at`` when given; the CRLs in
        ``revocation`` put in the DSS afterwards (LTV data)."""
        chain = SimpleCertificateStore.from_certs([self.root.asn1])
        simple = signers.SimpleSigner(
            signing_cert=signer.asn1, signing_key=_key_info(signer.key), cert_registry=chain
        )
        stamper = None
        if tsa is not None:
            stamper = timestamps.DummyTimeStamper(
                tsa_cert=tsa.asn1,
                tsa_key=_key_info(tsa.key),
                fixed_dt=at,
                certs_to_embed=SimpleCertificateStore.from_certs([self.root.asn1]),
            )
        meta = signers.PdfSignatureMetadata(
            field_name=field_name,
            reason=reason,
            subfilter=SigSeedSubFilter.PADES,
            certify=certify is not None,
            docmdp_permissions=MDPPerm(certify or 2),
        )
        out = io.BytesIO()
        signers.PdfSigner(meta, simple, timestamper=stamper).sign_pdf(
            IncrementalPdfFileWriter(io.BytesIO(pdf)), output=out, bytes_reserved=bytes_reserved
        )
        signed = out.getvalue()
        if revocation is None:
            return signed
        reader = PdfFileReader(io.BytesIO(signed))
        contents = reader.embedded_signatures[-1].pkcs7_content
        stream = io.BytesIO(signed)
        DocumentSecurityStore.add_dss(
            stream,
            contents,
            certs=[self.root.asn1],
            crls=[asn1_crl.CertificateList.load(c) for c in revocation],
        )
        return stream.getvalue()


def form_pdf() -> bytes:
    """A one-page PDF with an empty text field ``ho_ten`` and room for a stamp."""
    from reportlab.pdfgen import canvas

    out = io.BytesIO()
    page = canvas.Canvas(out, pagesize=(595, 842))
    page.drawString(72, 760, "Form for a test")
    page.acroForm.textfield(name="ho_ten", x=72, y=700, width=200, height=20, value="")
    page.showPage()
    page.save()
    return out.getvalue()


def fill_field(pdf: bytes, name: str, value: str) -> bytes:
    """Fill a text field in an incremental update (allowed after an approval signature)."""
    from pyhanko.pdf_utils import generic as gen
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter as Writer

    writer = Writer(io.BytesIO(pdf))
    for ref in writer.root["/AcroForm"]["/Fields"]:
        field = ref.get_object()
        if field.get("/T") == name:
            field["/V"] = gen.TextStringObject(value)
            writer.update_container(field)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def add_annotation(pdf: bytes) -> bytes:
    """A sticky-note comment on page 1, in an incremental update."""
    from pyhanko.pdf_utils import generic as gen
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter as Writer

    writer = Writer(io.BytesIO(pdf))
    page_ref = writer.find_page_for_modification(0)[0]
    page = page_ref.get_object()
    note = gen.DictionaryObject(
        {
            gen.NameObject("/Type"): gen.NameObject("/Annot"),
            gen.NameObject("/Subtype"): gen.NameObject("/Text"),
            gen.NameObject("/Rect"): gen.ArrayObject(
                [gen.FloatObject(v) for v in (300, 300, 320, 320)]
            ),
            gen.NameObject("/Contents"): gen.TextStringObject("Đã xem"),
            gen.NameObject("/P"): page_ref,
        }
    )
    annots = page.get("/Annots", gen.ArrayObject())
    annots.append(writer.add_object(note))
    page["/Annots"] = annots
    writer.update_container(page)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def replace_page_content(pdf: bytes, text: str = "Số tiền: 999.000.000 đồng") -> bytes:
    """Page 1's content replaced in an incremental update (forbidden after signing)."""
    from pyhanko.pdf_utils import generic as gen
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter as Writer

    writer = Writer(io.BytesIO(pdf))
    page_ref = writer.find_page_for_modification(0)[0]
    page = page_ref.get_object()
    stream = gen.StreamObject(
        stream_data=f"BT /F1 24 Tf 72 500 Td ({text.encode('ascii', 'replace').decode()}) Tj ET".encode()
    )
    page["/Contents"] = writer.add_object(stream)
    writer.update_container(page)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def add_page(pdf: bytes) -> bytes:
    """A new last page in an incremental update (forbidden after signing)."""
    from pyhanko.pdf_utils import generic as gen
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter as Writer

    writer = Writer(io.BytesIO(pdf))
    page = gen.DictionaryObject(
        {
            gen.NameObject("/Type"): gen.NameObject("/Page"),
            gen.NameObject("/MediaBox"): gen.ArrayObject(
                [gen.NumberObject(v) for v in (0, 0, 595, 842)]
            ),
            gen.NameObject("/Contents"): writer.add_object(gen.StreamObject(stream_data=b"")),
        }
    )
    writer.insert_page(page)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def change_reason(pdf: bytes, reason: str = "Không đồng ý") -> bytes:
    """The signature dictionary's /Reason rewritten in an incremental update."""
    from pyhanko.pdf_utils import generic as gen
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter as Writer

    writer = Writer(io.BytesIO(pdf))
    for ref in writer.root["/AcroForm"]["/Fields"]:
        field = ref.get_object()
        if field.get("/FT") == "/Sig" and "/V" in field:
            sig = field.raw_get("/V").get_object()
            sig["/Reason"] = gen.TextStringObject(reason)
            writer.mark_update(field.raw_get("/V"))
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def timestamp_only(
    pdf: bytes, pki: ForeignPki, tsa: Issued, *, revocation: list[bytes] | None = None
) -> bytes:
    """A document time-stamp and nothing else (its TSA's CRLs in the DSS when given)."""
    stamper = timestamps.DummyTimeStamper(
        tsa_cert=tsa.asn1,
        tsa_key=_key_info(tsa.key),
        certs_to_embed=SimpleCertificateStore.from_certs([pki.root.asn1]),
    )
    out = io.BytesIO()
    signers.PdfTimeStamper(stamper).timestamp_pdf(
        IncrementalPdfFileWriter(io.BytesIO(pdf)), "sha256", output=out
    )
    if revocation is None:
        return out.getvalue()
    stamped = out.getvalue()
    contents = PdfFileReader(io.BytesIO(stamped)).embedded_signatures[-1].pkcs7_content
    stream = io.BytesIO(stamped)
    DocumentSecurityStore.add_dss(
        stream,
        contents,
        certs=[pki.root.asn1],
        crls=[asn1_crl.CertificateList.load(c) for c in revocation],
    )
    return stream.getvalue()


def break_byte_range(pdf: bytes) -> bytes:
    """The last /ByteRange's second offset moved by one byte (the same length in the file)."""
    start = pdf.rindex(b"/ByteRange")
    numbers = pdf[start : pdf.index(b"]", start)].split()
    offset = numbers[3]
    moved = str(int(offset) - 1).rjust(len(offset), "0").encode()
    position = pdf.index(offset, start)
    return pdf[:position] + moved + pdf[position + len(offset) :]
