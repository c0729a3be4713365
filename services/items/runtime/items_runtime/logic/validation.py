"""Stage 1 of the worker: decide whether an upload is valid data, record by record, writing nothing.

A file-level problem (too large, not UTF-8, not CSV, no records, too many) rejects the upload with that
reason. Record-level problems never stop the scan: every record is checked, the invalid ones are
counted and the first few reported with their line, and the upload is rejected as a whole, so an
upload is imported completely or not at all."""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from ..models import IngestFormat, ItemIn, RecordError

MAX_REPORTED_ERRORS = 20
CSV_COLUMNS = ("name", "description", "quantity")
_DIGITS = re.compile(r"^[0-9]+$")


@dataclass(frozen=True)
class Valid:
    """Every record of the upload, with the line it starts on."""

    records: tuple[tuple[int, ItemIn], ...]


@dataclass(frozen=True)
class Invalid:
    reason: str
    errors: tuple[RecordError, ...] = ()
    records: int | None = None
    invalid_records: int | None = None


@dataclass
class _FileProblem(Exception):
    reason: str


@dataclass
class _Tally:
    valid: list[tuple[int, ItemIn]] = field(default_factory=list)
    errors: list[RecordError] = field(default_factory=list)
    invalid: int = 0


def validate_upload(data: bytes, upload_format: IngestFormat, *, max_bytes: int, max_records: int) -> Valid | Invalid:
    if len(data) > max_bytes:
        return Invalid(f"the upload is larger than the limit of {max_bytes} bytes")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        return Invalid(f"the upload is not UTF-8 text (invalid byte at offset {error.start})")
    if "\x00" in text:
        return Invalid("the upload is binary data, not text")
    rows = _json_lines(text) if upload_format == "jsonl" else _csv_rows(text)
    tally = _Tally()
    total = 0
    try:
        for line, row in rows:
            total += 1
            if total > max_records:
                return Invalid(f"the upload holds more than the limit of {max_records} records")
            _check(tally, line, row)
    except _FileProblem as problem:
        return Invalid(problem.reason)
    if total == 0:
        return Invalid("the upload holds no records")
    if tally.invalid:
        return Invalid(
            f"{tally.invalid} of {total} records are invalid; nothing was imported",
            errors=tuple(tally.errors),
            records=total,
            invalid_records=tally.invalid,
        )
    return Valid(tuple(tally.valid))


def _check(tally: _Tally, line: int, row: dict[str, Any] | str) -> None:
    if isinstance(row, str):
        message = row
    else:
        try:
            tally.valid.append((line, ItemIn.model_validate(row)))
            return
        except ValidationError as error:
            message = "; ".join(f"{'.'.join(str(p) for p in e['loc']) or 'record'}: {e['msg']}" for e in error.errors())
    tally.invalid += 1
    if len(tally.errors) < MAX_REPORTED_ERRORS:
        tally.errors.append(RecordError(line=line, message=message))


def _json_lines(text: str) -> Iterator[tuple[int, dict[str, Any] | str]]:
    # Split on "\n" only: str.splitlines would also split inside JSON strings holding U+2028 and friends.
    for number, raw in enumerate(text.split("\n"), start=1):
        line = raw.rstrip("\r")
        if not line.strip():
            continue
        try:
            value = json.loads(line)
        except (ValueError, RecursionError):
            yield number, "not valid JSON"
            continue
        yield number, value if isinstance(value, dict) else "a record must be a JSON object"


def _csv_rows(text: str) -> Iterator[tuple[int, dict[str, Any] | str]]:
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        header = next(reader, None)
        if header is None:
            return
        columns = [name.strip().lower() for name in header]
        if "name" not in columns or len(set(columns)) != len(columns) or not set(columns) <= set(CSV_COLUMNS):
            raise _FileProblem(
                f"the CSV header must name the columns name, description (optional) and quantity (optional) "
                f"once each; found {', '.join(columns)[:200]}"
            )
        last_line = reader.line_num
        for fields in reader:
            start, last_line = last_line + 1, reader.line_num
            if not fields or fields == [""]:
                continue
            if len(fields) != len(columns):
                yield start, f"expected {len(columns)} fields, found {len(fields)}"
                continue
            yield start, _csv_record(dict(zip(columns, fields, strict=True)))
    except csv.Error as error:
        raise _FileProblem(f"the upload is not valid CSV (line {reader.line_num}: {error})") from error


def _csv_record(row: dict[str, str]) -> dict[str, Any]:
    record: dict[str, Any] = {"name": row["name"]}
    if row.get("description"):
        record["description"] = row["description"]
    quantity = row.get("quantity", "").strip()
    if quantity:
        # Digits become a number (range-checked by the model); anything else fails the model as it is.
        record["quantity"] = int(quantity) if _DIGITS.match(quantity) and len(quantity) <= 18 else quantity
    return record
