"""Records of an upload read as a stream of byte blocks, never as a whole: JSON Lines (one object a line)
or CSV (a header row naming the columns, then one record a row; quoted fields may span lines).

Both phases read records this way: validation the whole file, each import chunk only its byte range
(starting at a record, with the file's columns and the line it starts on), so a record gets the same
line number, and therefore the same item id, whichever reads it. Memory is bounded by the block size
and the longest line, whatever the file's size."""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

CSV_COLUMNS = ("name", "description", "quantity")
# Far above the longest valid record (a name of 200 and a description of 2000 characters, escaped);
# a longer line is not an item, and reading it whole would let one line take the function's memory.
MAX_LINE_BYTES = 64 * 1024
_BOM = b"\xef\xbb\xbf"
_DIGITS = re.compile(r"^[0-9]+$")


class FileProblem(Exception):
    """The file as a whole is unusable (not UTF-8, binary, not CSV, a line too long)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Line:
    number: int
    start: int  # byte offset of the line in the object
    end: int  # byte offset just after its newline
    text: str  # decoded, with its line terminator


@dataclass(frozen=True, slots=True)
class Record:
    """One record: the line it starts on, its byte range, and its fields or why it cannot be read."""

    line: int
    start: int
    end: int
    value: dict[str, Any] | str


def lines(blocks: Iterable[bytes], *, offset: int = 0, first_line: int = 1) -> Iterator[Line]:
    """The lines of a byte stream that starts at `offset` of the object with line `first_line`. Only
    "\\n" ends a line (a "\\r" before it stays in the text): JSON strings may hold U+2028 and CSV fields
    "\\r" without ending the record."""
    pending = b""
    position, number = offset, first_line
    for block in blocks:
        data = pending + block if pending else block
        parts = data.split(b"\n")
        pending = parts.pop()
        for raw in parts:
            yield _decode(raw, number, position, terminator=1)
            position += len(raw) + 1
            number += 1
        if len(pending) > MAX_LINE_BYTES:
            raise FileProblem(f"line {number} is longer than {MAX_LINE_BYTES} bytes; no record is that long")
    if pending:
        yield _decode(pending, number, position, terminator=0)


def _decode(raw: bytes, number: int, position: int, *, terminator: int) -> Line:
    if len(raw) > MAX_LINE_BYTES:
        raise FileProblem(f"line {number} is longer than {MAX_LINE_BYTES} bytes; no record is that long")
    body = raw[len(_BOM) :] if position == 0 and raw.startswith(_BOM) else raw
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as error:
        skipped = len(raw) - len(body)
        raise FileProblem(
            f"the upload is not UTF-8 text (invalid byte at offset {position + skipped + error.start})"
        ) from None
    if "\x00" in text:
        raise FileProblem("the upload is binary data, not text")
    return Line(number, position, position + len(raw) + terminator, text + "\n" * terminator)


def json_records(source: Iterable[Line]) -> Iterator[Record]:
    for line in source:
        if not line.text.strip():
            continue
        try:
            value = json.loads(line.text)
        except (ValueError, RecursionError):
            yield Record(line.number, line.start, line.end, "not valid JSON")
            continue
        yield Record(
            line.number, line.start, line.end, value if isinstance(value, dict) else "a record must be a JSON object"
        )


class _Position:
    """Where csv.reader has got to in the lines it pulls (it pulls a line only when a row needs it)."""

    def __init__(self, source: Iterable[Line]) -> None:
        self._source = iter(source)
        self._in_row = False
        self.line = 0  # the last line read
        self.end = 0  # the offset after it
        self.row_line = 0  # the first line of the current row

    def texts(self) -> Iterator[str]:
        for line in self._source:
            if not self._in_row:
                self.row_line, self._in_row = line.number, True
            self.line, self.end = line.number, line.end
            yield line.text

    def next_row(self) -> None:
        self._in_row = False


def csv_header(header: Sequence[str]) -> tuple[str, ...]:
    columns = tuple(name.strip().lower() for name in header)
    if "name" not in columns or len(set(columns)) != len(columns) or not set(columns) <= set(CSV_COLUMNS):
        raise FileProblem(
            "the CSV header must name the columns name, description (optional) and quantity (optional) "
            f"once each; found {', '.join(columns)[:200]}"
        )
    return columns


def csv_records(
    source: Iterable[Line], *, columns: Sequence[str] | None = None, offset: int = 0
) -> Iterator[tuple[tuple[str, ...], Record]]:
    """(columns, record) for each row; without `columns` the first row is the header."""
    position = _Position(source)
    reader = csv.reader(position.texts(), strict=True)
    known = tuple(columns) if columns is not None else None
    start = offset
    try:
        for fields in reader:
            record_start, start = start, position.end
            position.next_row()
            if known is None:
                known = csv_header(fields)
                continue
            if not fields or fields == [""]:
                continue
            if len(fields) != len(known):
                value: dict[str, Any] | str = f"expected {len(known)} fields, found {len(fields)}"
            else:
                value = _csv_record(dict(zip(known, fields, strict=True)))
            yield known, Record(position.row_line, record_start, start, value)
    except csv.Error as error:
        raise FileProblem(f"the upload is not valid CSV (line {position.line}: {error})") from error


def _csv_record(row: dict[str, str]) -> dict[str, Any]:
    record: dict[str, Any] = {"name": row["name"]}
    if row.get("description"):
        record["description"] = row["description"]
    quantity = row.get("quantity", "").strip()
    if quantity:
        # Digits become a number (range-checked by the model); anything else fails the model as it is.
        record["quantity"] = int(quantity) if _DIGITS.match(quantity) and len(quantity) <= 18 else quantity
    return record


def range_records(
    blocks: Iterable[bytes], upload_format: str, *, start: int, first_line: int, columns: Sequence[str]
) -> Iterator[Record]:
    """The records of a byte range of the upload that starts at a record (an import chunk)."""
    source = lines(blocks, offset=start, first_line=first_line)
    if upload_format == "jsonl":
        yield from json_records(source)
        return
    for _, record in csv_records(source, columns=columns, offset=start):
        yield record
