from jobs.bronze.encoding import GB18030, UTF8, sniff

HEADER = "customer_id,name,city\n"


def test_utf8_with_and_without_bom():
    body = (HEADER + "C1,张伟,成都\n").encode("utf-8")
    assert sniff(body, truncated=False).encoding == UTF8
    with_bom = sniff(b"\xef\xbb\xbf" + body, truncated=False)
    assert (with_bom.encoding, with_bom.first_line) == (UTF8, "customer_id,name,city")


def test_gbk_is_detected_not_assumed():
    body = (HEADER + "C1,张伟,成都\n").encode("gbk")
    assert sniff(body, truncated=False).encoding == GB18030


def test_sample_cut_inside_a_character_is_still_utf8():
    body = (HEADER + "C1,张伟,成都\nC2,李娜,绵阳\n").encode("utf-8")
    cut = body[: len(body) - 2]  # ends in the middle of a 3-byte character
    assert sniff(cut, truncated=True).encoding == UTF8


def test_binary_and_empty_files_are_rejected_with_reasons():
    assert sniff(b"\x89PNG\r\n\x1a\n\x00\x00", truncated=False).problem == (
        "not a text file: it contains NUL bytes (binary content)")
    assert sniff(b"", truncated=False).problem == "empty file: no header and no records"
