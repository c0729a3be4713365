"""Business rules of the items API, independent of HTTP and of DynamoDB."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Protocol

from items_ingest.settings import UPLOAD_PREFIX, IngestSettings

from .errors import IngestNotFoundError, ItemNotFoundError
from .models import (
    INGEST_CONTENT_TYPES,
    IngestJob,
    IngestLimitsOut,
    IngestRequest,
    IngestTicket,
    Item,
    ItemIn,
    ItemPage,
    UploadInstructions,
)
from .repository import ItemRepository
from .tokens import PageTokenSigner

# (object key, content type, seconds valid) -> presigned PUT URL
UploadSigner = Callable[[str, str, int], str]


class IngestJobs(Protocol):
    def create(self, job: IngestJob) -> None: ...

    def get(self, job_id: str) -> IngestJob | None: ...


MAX_PAGE_SIZE = 100
DEFAULT_PAGE_SIZE = 20


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def new_id() -> str:
    return uuid.uuid4().hex


def create_item(
    repository: ItemRepository,
    payload: ItemIn,
    *,
    caller: str,
    clock: Callable[[], str] = now,
    ids: Callable[[], str] = new_id,
) -> Item:
    timestamp = clock()
    item = Item(id=ids(), created_at=timestamp, updated_at=timestamp, created_by=caller, **payload.model_dump())
    repository.put_new(item)
    return item


def get_item(repository: ItemRepository, item_id: str) -> Item:
    item = repository.get(item_id)
    if item is None:
        raise ItemNotFoundError(item_id)
    return item


def replace_item(repository: ItemRepository, item_id: str, payload: ItemIn, *, clock: Callable[[], str] = now) -> Item:
    current = get_item(repository, item_id)
    updated = current.model_copy(update={**payload.model_dump(), "updated_at": clock()})
    if not repository.replace(updated):
        raise ItemNotFoundError(item_id)  # deleted between the read and the write
    return updated


def delete_item(repository: ItemRepository, item_id: str) -> None:
    if not repository.delete(item_id):
        raise ItemNotFoundError(item_id)


def list_items(
    repository: ItemRepository, signer: Callable[[], PageTokenSigner], limit: int, token: str | None
) -> ItemPage:
    start_key = signer().decode(token) if token else None
    items, last_key = repository.list_page(max(1, min(limit, MAX_PAGE_SIZE)), start_key)
    return ItemPage(items=items, next_token=signer().encode(last_key) if last_key else None)


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
            url=sign_upload(f"{UPLOAD_PREFIX}{job_id}", content_type, expiry),
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
