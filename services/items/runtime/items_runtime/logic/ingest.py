"""The rules of starting an upload and reading its outcome (the API's side of the bulk import)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Protocol

from ..errors import IngestNotFoundError
from ..models import INGEST_CONTENT_TYPES, IngestJob, IngestLimitsOut, IngestRequest, IngestTicket, UploadInstructions
from ..settings import IngestSettings
from .items import new_id, now

# (object key, content type, seconds valid) -> presigned PUT URL
UploadSigner = Callable[[str, str, int], str]


class IngestJobs(Protocol):
    def create(self, job: IngestJob) -> None: ...

    def get(self, job_id: str) -> IngestJob | None: ...


def start_ingest(
    jobs: IngestJobs,
    sign_upload: UploadSigner,
    request: IngestRequest,
    *,
    caller: str,
    settings: IngestSettings,
    clock: Callable[[], str] = now,
    ids: Callable[[], str] = new_id,
) -> IngestTicket:
    """Record a PENDING job, then sign a URL for exactly one object key and content type; the upload
    itself (S3 → EventBridge → queue → worker) decides the outcome."""
    job_id, created = ids(), clock()
    expiry = settings.upload_url_expiry_seconds
    expires_at = (datetime.fromisoformat(created) + timedelta(seconds=expiry)).isoformat(timespec="milliseconds")
    content_type = INGEST_CONTENT_TYPES[request.format]
    jobs.create(
        IngestJob(
            id=job_id,
            status="PENDING",
            format=request.format,
            created_at=created,
            updated_at=created,
            created_by=caller,
            upload_expires_at=expires_at,
        )
    )
    return IngestTicket(
        id=job_id,
        status="PENDING",
        upload=UploadInstructions(
            url=sign_upload(f"{settings.upload_prefix}{job_id}", content_type, expiry),
            headers={"Content-Type": content_type},
            expires_at=expires_at,
        ),
        limits=IngestLimitsOut(max_bytes=settings.max_upload_bytes, max_records=settings.max_records),
    )


def get_ingest(jobs: IngestJobs, ingest_id: str, *, caller: str, clock: Callable[[], str] = now) -> IngestJob:
    job = jobs.get(ingest_id)
    if job is None or job.created_by != caller:
        raise IngestNotFoundError(ingest_id)
    if job.status == "PENDING" and clock() > job.upload_expires_at:
        return job.model_copy(update={"status": "EXPIRED"})
    return job
