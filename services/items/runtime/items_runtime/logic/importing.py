"""The two phases of a bulk import, one promise: an accepted file ends with every record imported
exactly once, a rejected file writes nothing.

Phase 1 (the worker, one upload): claim the job, validate the whole file as a stream, then reject it
or start its import: the job becomes IMPORTING with its counts, and one message per chunk goes to the
import queue. Phase 2 (the importer, one chunk at a time, many in parallel): write the chunk's items
in paced batch writes, count the chunk once, and finish the job when the last chunk is counted. Item
ids come from the job and the line, and every item of an import carries the import's timestamp, so a
chunk imported twice writes the same items twice, never two items."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Protocol

from ..data.chunk_queue import ChunkTask
from ..data.item_writer import BATCH_ITEMS, write_units
from ..data.items import item_record
from ..data.jobs import ChunkState, Claim, imported_item_id
from ..data.uploads import Upload
from ..models import IngestJob, Item, ItemIn, RecordError
from .items import now
from .pacing import WriteBudget
from .records import range_records
from .validation import Invalid, Valid, item_of, validate_stream


class JobStore(Protocol):
    def claim(self, job_id: str, *, version: str, size: int, now: str) -> tuple[Claim, IngestJob | None]: ...

    def reject(
        self,
        job_id: str,
        *,
        version: str,
        reason: str,
        errors: Sequence[RecordError],
        records: int | None,
        invalid_records: int | None,
        now: str,
    ) -> bool: ...

    def start_import(
        self, job_id: str, *, version: str, records: int, chunks: int, now: str
    ) -> tuple[IngestJob, str] | None: ...

    def chunks_queued(self, job_id: str, *, version: str) -> bool: ...

    def chunk_state(self, job_id: str, *, version: str, index: int) -> ChunkState: ...

    def count_chunk(self, job_id: str, *, version: str, index: int, records: int, now: str) -> int | None: ...

    def finish_import(self, job_id: str, *, version: str, now: str) -> bool: ...

    def fail(self, job_id: str, *, version: str, reason: str, resume: str, now: str) -> bool: ...


class UploadReader(Protocol):
    def open(
        self, bucket: str, key: str, version: str, *, start: int = 0, end: int | None = None
    ) -> Iterator[bytes] | None: ...


class ChunkQueue(Protocol):
    def send(self, tasks: Iterable[ChunkTask]) -> int: ...


class ItemWriter(Protocol):
    def write(self, items: Sequence[Item]) -> None: ...


@dataclass(frozen=True)
class Limits:
    max_upload_bytes: int
    max_records: int
    chunk_records: int


@dataclass(frozen=True)
class Outcome:
    """What phase 1 did with an upload: accepted for import (its records and chunks), rejected, or why
    nothing was done."""

    outcome: str
    records: int = 0
    chunks: int = 0


def ingest(
    upload: Upload,
    *,
    jobs: JobStore,
    reader: UploadReader,
    chunks: ChunkQueue,
    limits: Limits,
    out_of_time: Callable[[], bool] = lambda: False,
    clock: Callable[[], str] = now,
) -> Outcome:
    """Phase 1 for one upload. Raises only on failures worth a retry (storage, S3, the queue, time)."""
    claim, job = jobs.claim(upload.job_id, version=upload.version, size=upload.size, now=clock())
    if claim not in (Claim.CLAIMED, Claim.RESUMED) or job is None:
        return Outcome(claim.value)
    outcome = _validate(upload, job, reader, limits, out_of_time)
    if isinstance(outcome, Invalid):
        rejected = jobs.reject(
            job.id,
            version=upload.version,
            reason=outcome.reason,
            errors=outcome.errors,
            records=outcome.records,
            invalid_records=outcome.invalid_records,
            now=clock(),
        )
        return Outcome("rejected" if rejected else Claim.FINISHED.value)
    started = jobs.start_import(
        job.id, version=upload.version, records=outcome.records, chunks=outcome.chunk_count, now=clock()
    )
    if started is None:
        return Outcome(Claim.FINISHED.value)
    job, imported_at = started
    # Chunks counted before (a resumed import) are sent too: the importer skips them.
    chunks.send(
        ChunkTask(
            job_id=job.id,
            version=upload.version,
            key=upload.key,
            format=job.format,
            columns=outcome.columns,
            index=chunk.index,
            chunks=outcome.chunk_count,
            start=chunk.start,
            end=chunk.end,
            line=chunk.line,
            records=chunk.records,
            owner=job.created_by,
            imported_at=imported_at,
        )
        for chunk in outcome.chunks()
    )
    jobs.chunks_queued(job.id, version=upload.version)
    return Outcome("importing", outcome.records, outcome.chunk_count)


def _validate(
    upload: Upload, job: IngestJob, reader: UploadReader, limits: Limits, out_of_time: Callable[[], bool]
) -> Valid | Invalid:
    if upload.size > limits.max_upload_bytes:
        return Invalid(f"the upload is {upload.size} bytes; the limit is {limits.max_upload_bytes} bytes")
    blocks = reader.open(upload.bucket, upload.key, upload.version)
    if blocks is None:
        return Invalid("the upload was deleted before it could be read")
    return validate_stream(
        blocks,
        job.format,
        max_bytes=limits.max_upload_bytes,
        max_records=limits.max_records,
        chunk_records=limits.chunk_records,
        out_of_time=out_of_time,
    )


@dataclass(frozen=True)
class ChunkOutcome:
    """What phase 2 did with one chunk message."""

    outcome: str  # imported, continued, duplicate, ignored, gone
    written: int = 0
    finished: bool = False


def import_chunk(
    task: ChunkTask,
    *,
    bucket: str,
    jobs: JobStore,
    reader: UploadReader,
    writer: ItemWriter,
    chunks: ChunkQueue,
    budget: WriteBudget,
    out_of_time: Callable[[float], bool],
    clock: Callable[[], str] = now,
    sleep: Callable[[float], None],
) -> ChunkOutcome:
    """Phase 2 for one chunk message: write its items (paced), count the chunk, try to finish the job.

    `out_of_time(seconds)` says whether waiting that long would leave too little of the invocation:
    the rest of the chunk is then sent on as a new message and this one is done. Raises only on
    failures worth a retry."""
    state = jobs.chunk_state(task.job_id, version=task.version, index=task.index)
    if state is ChunkState.NOT_IMPORTING:
        return ChunkOutcome("ignored")
    if state is ChunkState.COUNTED:
        return ChunkOutcome("duplicate", finished=_finish(task, jobs, clock))
    blocks = reader.open(bucket, task.key, task.version, start=task.start, end=task.end)
    if blocks is None:
        jobs.fail(
            task.job_id,
            version=task.version,
            reason=f"the uploaded file was deleted before chunk {task.index + 1} of {task.chunks} was imported",
            resume="upload the file again: POST /ingest, then PUT it to the new URL (imported items stay)",
            now=clock(),
        )
        return ChunkOutcome("gone")
    written = task.done
    for batch in _batches(_items(task, blocks)):
        units = sum(write_units(item_record(item)) for _, _, item in batch)
        wait = budget.delay(units)
        if out_of_time(wait):
            # Not enough of the invocation left to wait for the budget: the rest of the chunk, from this
            # batch's first record, goes on in a new message; this one is done.
            line, start, _ = batch[0]
            chunks.send([task.resumed_at(start=start, line=line, done=written)])
            return ChunkOutcome("continued", written - task.done)
        if wait:
            sleep(wait)
        writer.write([item for _, _, item in batch])
        budget.spend(units)
        written += len(batch)
    if written != task.records:
        raise ChunkChangedError(f"chunk {task.index} of a validated upload holds {written} records, not {task.records}")
    counted = jobs.count_chunk(task.job_id, version=task.version, index=task.index, records=task.records, now=clock())
    # The last count finishes the job; a chunk counted before may be the last one of a count that
    # stopped before finishing, so it tries too.
    finished = (counted is None or counted >= task.chunks) and _finish(task, jobs, clock)
    return ChunkOutcome("imported", written - task.done, finished)


def _batches(items: Iterator[tuple[int, int, Item]]) -> Iterator[list[tuple[int, int, Item]]]:
    batch: list[tuple[int, int, Item]] = []
    for entry in items:
        batch.append(entry)
        if len(batch) == BATCH_ITEMS:
            yield batch
            batch = []
    if batch:
        yield batch


def _finish(task: ChunkTask, jobs: JobStore, clock: Callable[[], str]) -> bool:
    return jobs.finish_import(task.job_id, version=task.version, now=clock())


class ChunkChangedError(RuntimeError):
    """A chunk of a validated upload no longer reads as it did: never expected (the object version is
    fixed), so it fails loudly and the chunk ends in the dead-letter queue."""


def _items(task: ChunkTask, blocks: Iterable[bytes]) -> Iterator[tuple[int, int, Item]]:
    """(line, start offset, item) of each record of the chunk's range."""
    for record in range_records(blocks, task.format, start=task.start, first_line=task.line, columns=task.columns):
        item = item_of(record)
        if not isinstance(item, ItemIn):
            raise ChunkChangedError(f"line {record.line} of a validated upload is invalid: {item[0].message}")
        yield (
            record.line,
            record.start,
            Item(
                id=imported_item_id(task.job_id, record.line),
                created_at=task.imported_at,
                updated_at=task.imported_at,
                created_by=task.owner,
                **item.model_dump(),
            ),
        )
