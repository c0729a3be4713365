"""The worker's two stages for one upload: claim the job, validate the file (stage 1), then import
every record with the job's outcome in one transaction (stage 2), or record why it was rejected."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from ..data.jobs import Claim, imported_item_id
from ..data.uploads import Upload
from ..models import IngestJob, Item, RecordError
from ..settings import IngestSettings
from .items import now
from .validation import Invalid, Valid, validate_upload


class JobStore(Protocol):
    def claim(self, job_id: str, *, version: str, size: int, now: str) -> tuple[Claim, IngestJob | None]: ...

    def reject(
        self,
        job_id: str,
        *,
        version: str,
        reason: str,
        errors: list[RecordError] | tuple[RecordError, ...],
        records: int | None,
        invalid_records: int | None,
        now: str,
    ) -> bool: ...

    def accept(self, job_id: str, *, version: str, items: list[Item], now: str) -> bool: ...


class UploadReader(Protocol):
    def read(self, upload: Upload, max_bytes: int) -> bytes | None: ...


def ingest(
    upload: Upload,
    *,
    jobs: JobStore,
    reader: UploadReader,
    settings: IngestSettings,
    clock: Callable[[], str] = now,
) -> tuple[str, int]:
    """Process one upload; returns the outcome (accepted, rejected, or why nothing was done) and the
    number of items imported. Raises only on failures worth a retry (storage, S3 access)."""
    claim, job = jobs.claim(upload.job_id, version=upload.version, size=upload.size, now=clock())
    if claim is not Claim.CLAIMED or job is None:
        return claim.value, 0
    outcome = _validate(upload, job, reader, settings)
    timestamp = clock()
    if isinstance(outcome, Invalid):
        finished = jobs.reject(
            job.id,
            version=upload.version,
            reason=outcome.reason,
            errors=outcome.errors,
            records=outcome.records,
            invalid_records=outcome.invalid_records,
            now=timestamp,
        )
        return ("rejected" if finished else Claim.FINISHED.value), 0
    items = [
        Item(
            id=imported_item_id(job.id, line),
            created_at=timestamp,
            updated_at=timestamp,
            created_by=job.created_by,
            **record.model_dump(),
        )
        for line, record in outcome.records
    ]
    if not jobs.accept(job.id, version=upload.version, items=items, now=timestamp):
        return Claim.FINISHED.value, 0
    return "accepted", len(items)


def _validate(upload: Upload, job: IngestJob, reader: UploadReader, settings: IngestSettings) -> Valid | Invalid:
    if upload.size > settings.max_upload_bytes:
        return Invalid(f"the upload is {upload.size} bytes; the limit is {settings.max_upload_bytes} bytes")
    data = reader.read(upload, settings.max_upload_bytes)
    if data is None:
        return Invalid("the upload was deleted before it could be read")
    return validate_upload(data, job.format, max_bytes=settings.max_upload_bytes, max_records=settings.max_records)
