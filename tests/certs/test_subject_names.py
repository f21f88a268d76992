"""Certificate subjects in people's terms: name, CCCD or tax code, organisation."""

from __future__ import annotations

import pytest

from certs.subject_names import SubjectWords, subject_words


@pytest.mark.parametrize(
    ("dn", "expected"),
    [
        ("UID=CCCD:001203012345,CN=Nguyễn Văn An,C=VN",
         SubjectWords("Nguyễn Văn An", cccd="001203012345")),
        ("UID=MST:0101234567-001,CN=Công ty TNHH A\\, B,O=Công ty TNHH A\\, B,C=VN",
         SubjectWords("Công ty TNHH A, B", tax_code="0101234567-001",
                      organisation="Công ty TNHH A, B")),
        ("CN=Root CA,O=Bộ Công an,C=VN", SubjectWords("Root CA", organisation="Bộ Công an")),
        ("O=No Common Name,C=VN", SubjectWords("O=No Common Name,C=VN",
                                               organisation="No Common Name")),
        ("not a DN", SubjectWords("not a DN")),
    ],
)  # fmt: skip
def test_a_subject_reads_as_a_name_and_an_id(dn: str, expected: SubjectWords) -> None:
    words = subject_words(dn)
    assert (words.name, words.cccd, words.tax_code, words.organisation) == (
        expected.name, expected.cccd, expected.tax_code, expected.organisation)  # fmt: skip
    assert words.raw == dn
