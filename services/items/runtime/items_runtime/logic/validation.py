"""Phase 1 of an import: decide whether an upload is valid data, record by record, writing nothing.

The file is read once, as a stream. A file-level problem (not UTF-8, binary, not CSV, no records, too
many, a line too long) rejects the upload with that reason. Record-level problems never stop the scan:
every record is checked against the item model, the invalid ones are counted and the first few
reported with their line and field, and the upload is rejected as a whole. A valid upload comes back
with its plan: where each chunk of `chunk_records` records starts (byte offset and line), which is all
phase 2 needs to import the chunks in parallel. The plan takes 16 bytes a chunk; nothing else grows
with the file."""

from __future__ import annotations

from array import array
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

from pydantic import ValidationError

from ..models import IngestFormat, ItemIn, RecordError
from .records import FileProblem, Line, Record, csv_records, json_records, lines

MAX_REPORTED_ERRORS = 20
# How often (in records) the scan asks whether its time is up.
_TIME_CHECK_EVERY = 2048


class OutOfTimeError(RuntimeError):
    """The scan would not finish before the function's time is up (retried, like any transient failure)."""


@dataclass(frozen=True)
class Chunk:
    """Records [first, first + records) of the upload: bytes [start, end), starting on line `line`."""

    index: int
    start: int
    end: int
    line: int
    records: int


@dataclass(frozen=True)
class Valid:
    records: int
    chunk_records: int
    end: int  # the offset after the last record
    columns: tuple[str, ...]  # CSV: the header's columns, in order; JSON Lines: none
    starts: array[int] = field(repr=False)
    start_lines: array[int] = field(repr=False)

    @property
    def chunk_count(self) -> int:
        return len(self.starts)

    def chunks(self) -> Iterator[Chunk]:
        last = len(self.starts) - 1
        for index, (start, line) in enumerate(zip(self.starts, self.start_lines, strict=True)):
            end = self.end if index == last else self.starts[index + 1]
            records = self.records - index * self.chunk_records if index == last else self.chunk_records
            yield Chunk(index, start, end, line, records)


@dataclass(frozen=True)
class Invalid:
    reason: str
    errors: tuple[RecordError, ...] = ()
    records: int | None = None
    invalid_records: int | None = None


@dataclass
class _Tally:
    errors: list[RecordError] = field(default_factory=list)
    invalid: int = 0


def validate_stream(
    blocks: Iterable[bytes],
    upload_format: IngestFormat,
    *,
    max_bytes: int,
    max_records: int,
    chunk_records: int,
    out_of_time: Callable[[], bool] = lambda: False,
) -> Valid | Invalid:
    """Scan the whole upload; raises OutOfTimeError when `out_of_time()` says so before the end."""
    counted = _Counted(blocks, max_bytes)
    records, columns = _records(lines(counted), upload_format)
    tally = _Tally()
    starts: array[int] = array("q")
    start_lines: array[int] = array("q")
    total = end = 0
    try:
        for record in records:
            if total % chunk_records == 0:
                starts.append(record.start)
                start_lines.append(record.line)
            total += 1
            if total > max_records:
                return Invalid(f"the upload holds more than the limit of {max_records} records")
            if total % _TIME_CHECK_EVERY == 0 and out_of_time():
                raise OutOfTimeError(f"validation stopped at line {record.line}: the function's time is nearly up")
            _check(tally, record)
            end = record.end
    except FileProblem as problem:
        return Invalid(problem.reason)
    if counted.too_large:
        return Invalid(f"the upload is larger than the limit of {max_bytes} bytes")
    if total == 0:
        return Invalid("the upload holds no records")
    if tally.invalid:
        return Invalid(
            f"{tally.invalid} of {total} records are invalid; nothing was imported",
            errors=tuple(tally.errors),
            records=total,
            invalid_records=tally.invalid,
        )
    return Valid(total, chunk_records, end, columns.value, starts, start_lines)


class _Counted:
    """The blocks of the stream, stopping once more than `limit` bytes have arrived."""

    def __init__(self, blocks: Iterable[bytes], limit: int) -> None:
        self._blocks = blocks
        self._limit = limit
        self.too_large = False

    def __iter__(self) -> Iterator[bytes]:
        seen = 0
        for block in self._blocks:
            seen += len(block)
            if seen > self._limit:
                self.too_large = True
                return
            yield block


@dataclass
class _Columns:
    value: tuple[str, ...] = ()


def _records(source: Iterable[Line], upload_format: IngestFormat) -> tuple[Iterator[Record], _Columns]:
    columns = _Columns()
    if upload_format == "jsonl":
        return json_records(source), columns

    def rows() -> Iterator[Record]:
        for header, record in csv_records(source):
            columns.value = header
            yield record

    return rows(), columns


def item_of(record: Record) -> ItemIn | list[RecordError]:
    """The record as an item, or what is wrong with it (one error per field at fault)."""
    if isinstance(record.value, str):
        return [RecordError(line=record.line, message=record.value)]
    try:
        return ItemIn.model_validate(record.value)
    except ValidationError as error:
        problems = []
        for problem in error.errors():
            name = ".".join(str(part) for part in problem["loc"])
            problems.append(
                RecordError(line=record.line, field=name or None, message=f"{name or 'record'}: {problem['msg']}")
            )
        return problems


def _check(tally: _Tally, record: Record) -> None:
    outcome = item_of(record)
    if isinstance(outcome, ItemIn):
        return
    tally.invalid += 1
    room = MAX_REPORTED_ERRORS - len(tally.errors)
    if room > 0:
        tally.errors.extend(outcome[:room])
