"""Sniffing a landing file before Spark reads it: its encoding, and whether it is text at all.

Chinese ERPs often export GBK; an app SDK writes UTF-8. The encoding is detected per file from a
sample of its bytes, never assumed.
"""
from __future__ import annotations

from dataclasses import dataclass

from charset_normalizer import from_bytes

UTF8 = "UTF-8"
GB18030 = "GB18030"  # a superset of GBK and GB2312: decodes every GBK file the same way
UTF8_BOM = b"\xef\xbb\xbf"
# Codec names as Python knows them -> names Java (Spark's readers) knows them by.
JAVA_CHARSETS = {"utf_8": UTF8, "gb18030": GB18030, "gbk": GB18030, "gb2312": GB18030,
                 "big5": "Big5", "utf_16": "UTF-16", "latin_1": "ISO-8859-1",
                 "cp1252": "windows-1252", "ascii": UTF8}


@dataclass(frozen=True)
class Sniff:
    encoding: str | None  # Java charset name, None when the file is not readable text
    first_line: str  # decoded, BOM stripped
    problem: str | None = None


def _complete_lines(sample: bytes, truncated: bool) -> bytes:
    """Cut a sample at its last newline so a multi-byte character is never split."""
    if not truncated or b"\n" not in sample:
        return sample
    return sample[: sample.rindex(b"\n") + 1]


def sniff(sample: bytes, truncated: bool) -> Sniff:
    """Detect the encoding of a file from its first bytes."""
    if not sample:
        return Sniff(None, "", "empty file: no header and no records")
    if b"\x00" in sample:
        return Sniff(None, "", "not a text file: it contains NUL bytes (binary content)")
    body = _complete_lines(sample, truncated)
    if body.startswith(UTF8_BOM):
        body = body[len(UTF8_BOM):]
    for python_name, java_name in (("utf-8", UTF8), ("gb18030", GB18030)):
        try:
            text = body.decode(python_name)
        except UnicodeDecodeError:
            continue
        return Sniff(java_name, text.split("\n", 1)[0].rstrip("\r"))
    best = from_bytes(body).best()
    if best is None or best.encoding not in JAVA_CHARSETS:
        return Sniff(None, "", "unreadable text: not UTF-8, GBK/GB18030 or another known encoding")
    text = str(best)
    return Sniff(JAVA_CHARSETS[best.encoding], text.split("\n", 1)[0].rstrip("\r"))
