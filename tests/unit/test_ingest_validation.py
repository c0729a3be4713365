"""Stage 1 of the ingest worker: file-level and record-level validation of JSON Lines and CSV uploads."""

import json

import pytest

from items_runtime.logic.validation import MAX_REPORTED_ERRORS, Invalid, Valid, validate_upload

LIMITS = {"max_bytes": 10_000, "max_records": 5}


def jsonl(*records: object) -> bytes:
    return "\n".join(json.dumps(r) for r in records).encode()


def test_json_lines_records_become_items_with_their_line_numbers() -> None:
    result = validate_upload(b'{"name": "a"}\n\n{"name": "b", "quantity": 2}\r\n', "jsonl", **LIMITS)
    assert isinstance(result, Valid)
    assert [(line, item.name, item.quantity) for line, item in result.records] == [(1, "a", 0), (3, "b", 2)]


def test_a_utf8_byte_order_mark_and_unicode_line_separators_inside_strings_are_fine() -> None:
    data = "\ufeff".encode() + json.dumps({"name": "a\u2028b"}, ensure_ascii=False).encode()
    result = validate_upload(data, "jsonl", **LIMITS)
    assert isinstance(result, Valid)
    assert result.records[0][1].name == "a\u2028b"


def test_every_invalid_record_is_counted_and_reported_with_its_line() -> None:
    data = b'{"name": "ok"}\n{"name": ""}\n[1, 2]\n{"name": "x", "quantity": -1}\n{oops\n'
    result = validate_upload(data, "jsonl", **LIMITS)
    assert isinstance(result, Invalid)
    assert result.reason == "4 of 5 records are invalid; nothing was imported"
    assert (result.records, result.invalid_records) == (5, 4)
    assert [(e.line, e.message) for e in result.errors] == [
        (2, "name: String should have at least 1 character"),
        (3, "a record must be a JSON object"),
        (4, "quantity: Input should be greater than or equal to 0"),
        (5, "not valid JSON"),
    ]


def test_only_the_first_errors_are_reported_but_all_are_counted() -> None:
    data = b'{"name": ""}\n' * 40
    result = validate_upload(data, "jsonl", max_bytes=10_000, max_records=99)
    assert isinstance(result, Invalid)
    assert (result.invalid_records, len(result.errors)) == (40, MAX_REPORTED_ERRORS)


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "the upload holds no records"),
        (b"\n \n", "the upload holds no records"),
        (b"\xc3\x28", "the upload is not UTF-8 text (invalid byte at offset 0)"),
        (b'{"name": "a"}\x00', "the upload is binary data, not text"),
        (jsonl(*[{"name": "a"}] * 6), "the upload holds more than the limit of 5 records"),
        (b"x" * 10_001, "the upload is larger than the limit of 10000 bytes"),
    ],
    ids=["empty", "blank", "not-utf8", "nul", "too-many", "too-large"],
)
def test_file_level_problems_reject_the_upload_with_the_reason(data: bytes, reason: str) -> None:
    assert validate_upload(data, "jsonl", **LIMITS) == Invalid(reason)


def test_deeply_nested_json_is_an_invalid_record_not_a_crash() -> None:
    data = b"[" * 100_000 + b"]" * 100_000
    result = validate_upload(data, "jsonl", max_bytes=1_000_000, max_records=5)
    assert isinstance(result, Invalid)
    assert result.errors[0].message == "not valid JSON"


def test_csv_rows_become_items_with_quoting_and_optional_columns() -> None:
    data = b'Name,Quantity,Description\r\nBolt,10,"M6, zinc"\r\nNut,,"Multi\r\nline"\r\n'
    result = validate_upload(data, "csv", **LIMITS)
    assert isinstance(result, Valid)
    assert [(line, i.name, i.quantity, i.description) for line, i in result.records] == [
        (2, "Bolt", 10, "M6, zinc"),
        (3, "Nut", 0, "Multi\r\nline"),
    ]


def test_an_uploaded_name_follows_the_apis_text_rules() -> None:
    data = b'name\n"Multi\nline"\n"\xe2\x80\x8b"\n'  # a line break; a zero-width space only
    result = validate_upload(data, "csv", **LIMITS)
    assert isinstance(result, Invalid)
    assert [e.line for e in result.errors] == [2, 4]
    assert all("a name needs a visible character" in e.message for e in result.errors)


def test_csv_rows_with_bad_values_or_field_counts_are_invalid_records() -> None:
    data = b"name,quantity\nok,1\nbad,ten\nshort\nhuge," + b"9" * 5000 + b"\n"
    result = validate_upload(data, "csv", **LIMITS)
    assert isinstance(result, Invalid)
    assert [(e.line, e.message) for e in result.errors] == [
        (3, "quantity: Input should be a valid integer"),
        (4, "expected 2 fields, found 1"),
        (5, "quantity: Input should be a valid integer"),
    ]


@pytest.mark.parametrize(
    "header", [b"title,quantity", b"name,name", b"name,quantity,colour", b'"unterminated'], ids=str
)
def test_a_csv_without_a_usable_header_is_rejected(header: bytes) -> None:
    result = validate_upload(header + b"\nx,1\n", "csv", **LIMITS)
    assert isinstance(result, Invalid)
    assert not result.errors
    assert "CSV" in result.reason
