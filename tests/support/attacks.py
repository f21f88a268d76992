"""Signed documents changed by an attacker after signing, and hostile structures, each a
function of a signed PDF (found by a review; each once fooled or crashed the verifier)."""

from __future__ import annotations

import asyncio
import io
from collections.abc import Callable
from datetime import timedelta

from asn1crypto import cms
from asn1crypto import crl as asn1_crl
from pyhanko.pdf_utils import generic as gen
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter as Writer
from pyhanko.sign import timestamps
from pyhanko.sign.validation.dss import DocumentSecurityStore

from tests.support.foreign_pki import NOW, ForeignPki, Issued, _key_info

__all__ = ["HOSTILE", "appearance_hijack", "forged_early_timestamp"]


def _rewrite(pdf: bytes, change: Callable[[Writer], None]) -> bytes:
    writer = Writer(io.BytesIO(pdf))
    change(writer)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def appearance_hijack(signed: bytes) -> bytes:
    """Page 1's content stream overwritten in place, and a sticky note whose appearance names
    that stream (so that an annotation rule approving appearances would approve it)."""

    def change(writer: Writer) -> None:
        page_ref = writer.find_page_for_modification(0)[0]
        page = page_ref.get_object()
        contents = page.raw_get("/Contents").reference
        writer.objects[(contents.generation, contents.idnum)] = gen.StreamObject(
            {
                gen.NameObject("/Subtype"): gen.NameObject("/Form"),
                gen.NameObject("/BBox"): gen.ArrayObject(
                    [gen.NumberObject(v) for v in (0, 0, 595, 842)]
                ),
            },
            stream_data=b"BT /F1 24 Tf 72 500 Td (PAY 999,000,000 VND TO MALLORY) Tj ET",
        )
        note = gen.DictionaryObject(
            {
                gen.NameObject("/Type"): gen.NameObject("/Annot"),
                gen.NameObject("/Subtype"): gen.NameObject("/Text"),
                gen.NameObject("/Rect"): gen.ArrayObject(
                    [gen.FloatObject(v) for v in (0, 0, 1, 1)]
                ),
                gen.NameObject("/AP"): gen.DictionaryObject(
                    {
                        gen.NameObject("/N"): gen.IndirectObject(
                            contents.idnum, contents.generation, writer
                        )
                    }
                ),
            }
        )
        annots = page.get("/Annots", gen.ArrayObject())
        annots.append(writer.add_object(note))
        page["/Annots"] = annots
        writer.update_container(page)

    return _rewrite(signed, change)


def forged_early_timestamp(signed: bytes, pki: ForeignPki, crl: bytes) -> bytes:
    """A self-made time-stamp token claiming an early time put before the genuine one in the
    signature's unsigned attributes (the CMS rewritten in the /Contents hole), then the DSS."""
    rogue = ForeignPki.create("Rogue CA")
    rogue_tsa: Issued = rogue.issue(
        "Rogue TSA",
        not_before=NOW - timedelta(days=1000),
        not_after=NOW + timedelta(days=1000),
        tsa=True,
    )
    start = signed.rindex(b"/ByteRange")
    numbers = signed[signed.index(b"[", start) + 1 : signed.index(b"]", start)].split()
    first, second = int(numbers[1]), int(numbers[2])
    hole = signed[first + 1 : second - 1]
    content = cms.ContentInfo.load(bytes.fromhex(hole.decode()))
    signer_info = content["content"]["signer_infos"][0]
    genuine = list(signer_info["unsigned_attrs"])
    fake = asyncio.run(
        timestamps.DummyTimeStamper(
            tsa_cert=rogue_tsa.asn1,
            tsa_key=_key_info(rogue_tsa.key),
            fixed_dt=NOW - timedelta(days=20),
        ).async_timestamp(b"\0" * 32, "sha256")
    )
    signer_info["unsigned_attrs"] = cms.CMSAttributes(
        [cms.CMSAttribute({"type": "signature_time_stamp_token", "values": [fake]}), *genuine]
    )
    dumped = content.dump(force=True)
    encoded = dumped.hex().encode()
    if len(encoded) > len(hole):
        raise AssertionError("no room for the forged token")
    forged = (
        signed[: first + 1] + encoded + b"0" * (len(hole) - len(encoded)) + signed[second - 1 :]
    )
    stream = io.BytesIO(forged)
    DocumentSecurityStore.add_dss(
        stream, dumped, certs=[pki.root.asn1], crls=[asn1_crl.CertificateList.load(crl)]
    )
    return stream.getvalue()


def _appearance_array(writer: Writer) -> None:
    page = writer.find_page_for_modification(0)[0].get_object()
    note = gen.DictionaryObject(
        {
            gen.NameObject("/Type"): gen.NameObject("/Annot"),
            gen.NameObject("/Subtype"): gen.NameObject("/Text"),
            gen.NameObject("/Rect"): gen.ArrayObject([gen.FloatObject(v) for v in (0, 0, 1, 1)]),
            gen.NameObject("/AP"): gen.ArrayObject(),
        }
    )
    annots = page.get("/Annots", gen.ArrayObject())
    annots.append(writer.add_object(note))
    page["/Annots"] = annots
    writer.update_container(page)


def _dss(entry: str, value: gen.PdfObject) -> Callable[[Writer], None]:
    def change(writer: Writer) -> None:
        item = writer.add_object(value) if isinstance(value, gen.StreamObject) else value
        dss = gen.DictionaryObject({gen.NameObject(entry): gen.ArrayObject([item])})
        writer.root["/DSS"] = writer.add_object(dss)
        writer.update_root()

    return change


def _direct_kid(writer: Writer) -> None:
    pages = writer.root["/Pages"]
    pages["/Kids"].append(gen.DictionaryObject({gen.NameObject("/Type"): gen.NameObject("/Page")}))
    pages["/Count"] = gen.NumberObject(2)
    writer.update_container(pages)


def _deep_nesting(signed: bytes) -> bytes:
    depth = 3000
    marker = b"/" + b"A" * (2 * depth - 1)

    def change(writer: Writer) -> None:
        writer.root["/Deep"] = writer.add_object(gen.NameObject(marker.decode()))
        writer.update_root()

    return _rewrite(signed, change).replace(marker, b"[" * depth + b"]" * depth)


HOSTILE: dict[str, Callable[[bytes], bytes]] = {
    "appearance_array": lambda pdf: _rewrite(pdf, _appearance_array),
    "dss_number_for_certificate": lambda pdf: _rewrite(pdf, _dss("/Certs", gen.NumberObject(1))),
    "dss_broken_flate": lambda pdf: _rewrite(
        pdf,
        _dss(
            "/CRLs",
            gen.StreamObject(
                {gen.NameObject("/Filter"): gen.NameObject("/FlateDecode")},
                encoded_data=b"not zlib",
            ),
        ),
    ),
    "dss_unsupported_filter": lambda pdf: _rewrite(
        pdf,
        _dss(
            "/OCSPs",
            gen.StreamObject(
                {gen.NameObject("/Filter"): gen.NameObject("/JBIG2Decode")}, encoded_data=b"xx"
            ),
        ),
    ),
    "page_not_indirect": lambda pdf: _rewrite(pdf, _direct_kid),
    "deep_nesting": _deep_nesting,
}
"""Structures that must give a verdict, never an error."""
