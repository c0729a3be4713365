"""Phase 1 validation as a stream: file-level and record-level checks of JSON Lines and CSV uploads, and
the chunk plan phase 2 reads back: each chunk's byte range yields exactly its records, with the lines
(and so the item ids) the whole file gives them, however the stream is cut into blocks."""

import json
import re
from collections.abc import Iterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from items_runtime.logic.records import MAX_LINE_BYTES, range_records
from items_runtime.logic.validation import (
    MAX_REPORTED_ERRORS,
    Invalid,
    OutOfTimeError,
    Valid,
    item_of,
    validate_stream,
)
from items_runtime.models import NAME_PATTERN, ItemIn

LIMITS = {"max_bytes": 10_000, "max_records": 5, "chunk_records": 2}


def blocks(data: bytes, size: int = 7) -> Iterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


def validate(data: bytes, upload_format: str = "jsonl", **limits: int) -> Valid | Invalid:
    return validate_stream(blocks(data), upload_format, **{**LIMITS, **limits})  # type: ignore[arg-type]


def read_back(data: bytes, plan: Valid, upload_format: str = "jsonl") -> list[tuple[int, ItemIn]]:
    """What phase 2 reads: every chunk's range on its own, in small blocks."""
    records = []
    for chunk in plan.chunks():
        for record in range_records(
            blocks(data[chunk.start : chunk.end], 3),
            upload_format,
            start=chunk.start,
            first_line=chunk.line,
            columns=plan.columns,
        ):
            item = item_of(record)
            assert isinstance(item, ItemIn)
            records.append((record.line, item))
    return records


def jsonl(*records: object) -> bytes:
    return "\n".join(json.dumps(r) for r in records).encode()


def test_json_lines_records_are_counted_and_planned_in_chunks_of_the_chunk_size() -> None:
    data = b'{"name": "a"}\n\n{"name": "b", "quantity": 2}\r\n{"name": "c"}\n{"name": "d"}\n{"name": "e"}'
    plan = validate(data)
    assert isinstance(plan, Valid)
    assert (plan.records, plan.chunk_count) == (5, 3)
    assert [(c.index, c.line, c.records) for c in plan.chunks()] == [(0, 1, 2), (1, 4, 2), (2, 6, 1)]
    assert [(line, item.name, item.quantity) for line, item in read_back(data, plan)] == [
        (1, "a", 0),
        (3, "b", 2),
        (4, "c", 0),
        (5, "d", 0),
        (6, "e", 0),
    ]


def test_a_utf8_byte_order_mark_and_unicode_line_separators_inside_strings_are_fine() -> None:
    data = "\ufeff".encode() + json.dumps({"name": "a\u2028b"}, ensure_ascii=False).encode()
    plan = validate(data)
    assert isinstance(plan, Valid)
    assert read_back(data, plan)[0][1].name == "a\u2028b"


def test_every_invalid_record_is_counted_and_reported_with_its_line_and_field() -> None:
    data = b'{"name": "ok"}\n{"name": ""}\n[1, 2]\n{"name": "x", "quantity": -1}\n{oops\n'
    result = validate(data)
    assert isinstance(result, Invalid)
    assert result.reason == "4 of 5 records are invalid; nothing was imported"
    assert (result.records, result.invalid_records) == (5, 4)
    assert [(e.line, e.field, e.message) for e in result.errors] == [
        (2, "name", "name: String should have at least 1 character"),
        (3, None, "a record must be a JSON object"),
        (4, "quantity", "quantity: Input should be greater than or equal to 0"),
        (5, None, "not valid JSON"),
    ]


def test_a_record_wrong_in_two_fields_reports_both() -> None:
    result = validate(b'{"name": "", "quantity": "many"}\n')
    assert isinstance(result, Invalid)
    assert [(e.line, e.field) for e in result.errors] == [(1, "name"), (1, "quantity")]
    assert result.invalid_records == 1


def test_only_the_first_errors_are_reported_but_all_are_counted() -> None:
    result = validate(b'{"name": ""}\n' * 40, max_records=99)
    assert isinstance(result, Invalid)
    assert (result.invalid_records, len(result.errors)) == (40, MAX_REPORTED_ERRORS)


def test_one_bad_record_at_the_very_end_rejects_the_whole_file() -> None:
    result = validate(b'{"name": "fine"}\n' * 4 + b'{"name": "fine", "colour": "red"}\n')
    assert isinstance(result, Invalid)
    assert [(e.line, e.field) for e in result.errors] == [(5, "colour")]


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "the upload holds no records"),
        (b"\n \n", "the upload holds no records"),
        (b"\xc3\x28", "the upload is not UTF-8 text (invalid byte at offset 0)"),
        (b'{"name": "a"}\n{"name": "\xff"}', "the upload is not UTF-8 text (invalid byte at offset 24)"),
        (b'{"name": "a"}\x00', "the upload is binary data, not text"),
        (jsonl(*[{"name": "a"}] * 6), "the upload holds more than the limit of 5 records"),
        (b"x" * 10_001, "the upload is larger than the limit of 10000 bytes"),
    ],
    ids=["empty", "blank", "not-utf8", "not-utf8-later", "nul", "too-many", "too-large"],
)
def test_file_level_problems_reject_the_upload_with_the_reason(data: bytes, reason: str) -> None:
    assert validate(data) == Invalid(reason)


def test_a_line_longer_than_any_record_rejects_the_file_without_holding_it() -> None:
    data = b'{"name": "' + b"x" * (MAX_LINE_BYTES + 1) + b'"}\n'
    result = validate(data, max_bytes=10 * MAX_LINE_BYTES)
    assert result == Invalid(f"line 1 is longer than {MAX_LINE_BYTES} bytes; no record is that long")


def test_a_file_over_the_record_limit_is_rejected_without_reading_the_rest() -> None:
    read = []

    def endless() -> Iterator[bytes]:
        while True:
            read.append(1)
            yield b'{"name": "a"}\n' * 10

    result = validate_stream(endless(), "jsonl", max_bytes=10**12, max_records=1000, chunk_records=100)
    assert result == Invalid("the upload holds more than the limit of 1000 records")
    assert len(read) == 101


def test_a_scan_that_runs_out_of_time_stops_with_a_retryable_error() -> None:
    with pytest.raises(OutOfTimeError, match="line 2048"):
        validate_stream(
            blocks(b'{"name": "a"}\n' * 5000, 4096),
            "jsonl",
            max_bytes=10**6,
            max_records=10**6,
            chunk_records=100,
            out_of_time=lambda: True,
        )


def test_deeply_nested_json_is_an_invalid_record_not_a_crash() -> None:
    result = validate(b"[" * 30_000 + b"]" * 30_000, max_bytes=1_000_000)
    assert isinstance(result, Invalid)
    assert result.errors[0].message == "not valid JSON"


def test_csv_rows_become_items_with_quoting_optional_columns_and_lines_across_chunks() -> None:
    data = (
        b'Name,Quantity,Description\r\nBolt,10,"M6, zinc"\r\nNut,,"Multi\r\nline"\r\n\r\nWasher,3,\r\nScrew,5,"a\nb"\n'
    )
    plan = validate(data, "csv")
    assert isinstance(plan, Valid)
    assert plan.columns == ("name", "quantity", "description")
    assert [(line, i.name, i.quantity, i.description) for line, i in read_back(data, plan, "csv")] == [
        (2, "Bolt", 10, "M6, zinc"),
        (3, "Nut", 0, "Multi\r\nline"),
        (6, "Washer", 3, ""),
        (7, "Screw", 5, "a\nb"),
    ]


def test_an_uploaded_name_follows_the_apis_text_rules() -> None:
    data = b'name\n"Multi\nline"\n"\xe2\x80\x8b"\n'  # a line break; a zero-width space only
    result = validate(data, "csv")
    assert isinstance(result, Invalid)
    assert [e.line for e in result.errors] == [2, 4]
    assert all("a name needs a visible character" in e.message for e in result.errors)


def test_csv_rows_with_bad_values_or_field_counts_are_invalid_records() -> None:
    data = b"name,quantity\nok,1\nbad,ten\nshort\nhuge," + b"9" * 5000 + b"\n"
    result = validate(data, "csv")
    assert isinstance(result, Invalid)
    assert [(e.line, e.field, e.message) for e in result.errors] == [
        (3, "quantity", "quantity: Input should be a valid integer"),
        (4, None, "expected 2 fields, found 1"),
        (5, "quantity", "quantity: Input should be a valid integer"),
    ]


@pytest.mark.parametrize(
    "header", [b"title,quantity", b"name,name", b"name,quantity,colour", b'"unterminated'], ids=str
)
def test_a_csv_without_a_usable_header_is_rejected(header: bytes) -> None:
    result = validate(header + b"\nx,1\n", "csv")
    assert isinstance(result, Invalid)
    assert not result.errors
    assert "CSV" in result.reason


# Names the API accepts (no control character, a visible one at least), of any script.
names = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=("Cc", "Cs", "Zl", "Zp")), min_size=1, max_size=12
).filter(lambda n: re.search(NAME_PATTERN, n) is not None)


@settings(max_examples=40, deadline=None)
@given(
    rows=st.lists(st.tuples(names, st.integers(0, 99)), min_size=1, max_size=30),
    chunk_records=st.integers(1, 7),
    block=st.integers(1, 50),
    upload_format=st.sampled_from(["jsonl", "csv"]),
)
def test_the_chunks_read_back_every_record_once_with_the_line_the_whole_file_gives_it(
    rows: list[tuple[str, int]], chunk_records: int, block: int, upload_format: str
) -> None:
    if upload_format == "jsonl":
        data = "".join(json.dumps({"name": n, "quantity": q}, ensure_ascii=False) + "\n" for n, q in rows).encode()
    else:
        quoted = ['"' + n.replace('"', '""') + '"' for n, _ in rows]
        data = ("name,quantity\r\n" + "".join(f"{n},{q}\r\n" for n, (_, q) in zip(quoted, rows, strict=True))).encode()
    plan = validate_stream(
        blocks(data, block),
        upload_format,
        max_bytes=10**6,
        max_records=100,
        chunk_records=chunk_records,  # type: ignore[arg-type]
    )
    assert isinstance(plan, Valid), plan
    whole = Valid(plan.records, plan.records, plan.end, plan.columns, plan.starts[:1], plan.start_lines[:1])
    chunked = read_back(data, plan, upload_format)
    assert chunked == read_back(data, whole, upload_format)
    assert [(i.name.strip(), i.quantity) for _, i in chunked] == [(n.strip(), q) for n, q in rows]
    assert len({line for line, _ in chunked}) == len(rows)
