"""In-memory stand-ins for the data-access layer and the idempotency store."""

import datetime
from typing import Any

from aws_lambda_powertools.utilities.idempotency.exceptions import (
    IdempotencyItemAlreadyExistsError,
    IdempotencyItemNotFoundError,
)
from aws_lambda_powertools.utilities.idempotency.persistence.base import BasePersistenceLayer
from aws_lambda_powertools.utilities.idempotency.persistence.datarecord import DataRecord

from items_runtime.errors import StorageUnavailableError
from items_runtime.models import Item


class InMemoryItemRepository:
    def __init__(self) -> None:
        self.items: dict[str, Item] = {}
        self.writes = 0

    def put_new(self, item: Item) -> None:
        if item.id in self.items:
            raise AssertionError(f"item {item.id} written twice")
        self.items[item.id] = item
        self.writes += 1

    def replace(self, item: Item) -> bool:
        if item.id not in self.items:
            return False
        self.items[item.id] = item
        self.writes += 1
        return True

    def get(self, item_id: str) -> Item | None:
        return self.items.get(item_id)

    def delete(self, item_id: str) -> bool:
        return self.items.pop(item_id, None) is not None

    def list_page(self, limit: int, start_key: dict[str, Any] | None) -> tuple[list[Item], dict[str, Any] | None]:
        ordered = sorted(self.items.values(), key=lambda i: (i.created_at, i.id), reverse=True)
        start = 0
        if start_key:
            start = next(n for n, i in enumerate(ordered) if i.id == start_key["pk"]["S"].split("#")[1]) + 1
        page = ordered[start : start + limit]
        more = start + limit < len(ordered)
        return page, (_last_key(page[-1]) if more and page else None)


def _last_key(item: Item) -> dict[str, Any]:
    return {
        "pk": {"S": f"ITEM#{item.id}"},
        "sk": {"S": "ITEM"},
        "gsi1pk": {"S": "ITEM"},
        "gsi1sk": {"S": f"{item.created_at}#{item.id}"},
    }


class ThrottledItemRepository(InMemoryItemRepository):
    """Every write and read is throttled, as DynamoDB does when provisioned capacity runs out."""

    def put_new(self, item: Item) -> None:
        raise StorageUnavailableError("ProvisionedThroughputExceededException")

    def get(self, item_id: str) -> Item | None:
        raise StorageUnavailableError("ProvisionedThroughputExceededException")


class BrokenItemRepository(InMemoryItemRepository):
    def get(self, item_id: str) -> Item | None:
        raise KeyError("a bug in the data layer")


class InMemoryIdempotencyStore(BasePersistenceLayer):
    """Mirrors DynamoDBPersistenceLayer's conditional put: a live record blocks a second one.

    The real layer is exercised against an emulated DynamoDB by the integration tests."""

    def __init__(self) -> None:
        super().__init__()
        self.records: dict[str, DataRecord] = {}

    def _get_record(self, idempotency_key: str) -> DataRecord:
        if idempotency_key not in self.records:
            raise IdempotencyItemNotFoundError
        return self.records[idempotency_key]

    def _put_record(self, data_record: DataRecord) -> None:
        existing = self.records.get(data_record.idempotency_key)
        now = int(datetime.datetime.now().timestamp())
        if existing and (existing.expiry_timestamp or 0) > now:
            # As DynamoDBPersistenceLayer does with ReturnValuesOnConditionCheckFailure: check the payload first.
            self._validate_payload(data_payload=data_record, stored_data_record=existing)
            raise IdempotencyItemAlreadyExistsError(old_data_record=existing)
        self.records[data_record.idempotency_key] = data_record

    def _update_record(self, data_record: DataRecord) -> None:
        self.records[data_record.idempotency_key] = data_record

    def _delete_record(self, data_record: DataRecord) -> None:
        self.records.pop(data_record.idempotency_key, None)


class InMemoryJobStore:
    """The ingest job store's contract (items_runtime/data/jobs.py) over dicts: conditional claim, reject,
    start, count (once per chunk) and finish, each bound to the object version claimed."""

    def __init__(self) -> None:
        from items_runtime.models import IngestJob

        self.jobs: dict[str, IngestJob] = {}
        self.versions: dict[str, str] = {}
        self.started_at: dict[str, str] = {}
        self.counted: set[tuple[str, int]] = set()
        self.queued: set[str] = set()

    def create(self, job: Any) -> None:
        if job.id in self.jobs:
            raise AssertionError(f"job {job.id} created twice")
        self.jobs[job.id] = job

    def get(self, job_id: str) -> Any:
        return self.jobs.get(job_id)

    def _update(self, job_id: str, **changes: Any) -> None:
        self.jobs[job_id] = self.jobs[job_id].model_copy(update=changes)

    def _of_upload(self, job_id: str, version: str, *statuses: str) -> bool:
        job = self.jobs.get(job_id)
        return job is not None and self.versions.get(job_id) == version and job.status in statuses

    def claim(self, job_id: str, *, version: str, size: int, now: str) -> tuple[Any, Any]:
        from items_runtime.data.jobs import Claim

        job = self.jobs.get(job_id)
        if job is None:
            return Claim.MISSING, None
        same = self.versions.get(job_id) == version
        retry = same and (job.status == "VALIDATING" or (job.status == "FAILED" and job.chunks_total is None))
        if job.status == "PENDING" or retry:
            self.versions[job_id] = version
            self._update(job_id, status="VALIDATING", updated_at=now)
            return Claim.CLAIMED, self.jobs[job_id]
        if job.status in ("ACCEPTED", "REJECTED"):
            return Claim.FINISHED, job
        if same and (job.status == "FAILED" or (job.status == "IMPORTING" and job_id not in self.queued)):
            return Claim.RESUMED, job
        if same and job.status == "IMPORTING":
            return Claim.FINISHED, job
        return Claim.OTHER_UPLOAD, job

    def reject(self, job_id: str, *, version: str, reason: str, errors: Any, **counts: Any) -> bool:
        if not self._of_upload(job_id, version, "VALIDATING"):
            return False
        now = counts.pop("now")
        self._update(
            job_id,
            status="REJECTED",
            reason=reason,
            errors=list(errors),
            imported=0,
            updated_at=now,
            **{k: v for k, v in counts.items() if v is not None},
        )
        return True

    def start_import(self, job_id: str, *, version: str, records: int, chunks: int, now: str) -> Any:
        if not self._of_upload(job_id, version, "VALIDATING", "IMPORTING", "FAILED"):
            return None
        job = self.jobs[job_id]
        self.started_at.setdefault(job_id, now)
        self.queued.discard(job_id)
        self._update(
            job_id,
            status="IMPORTING",
            records=records,
            chunks_total=chunks,
            chunks_done=job.chunks_done or 0,
            imported=job.imported or 0,
            invalid_records=0,
            reason=None,
            resume=None,
            updated_at=now,
        )
        return self.jobs[job_id], self.started_at[job_id]

    def chunks_queued(self, job_id: str, *, version: str) -> bool:
        if self.versions.get(job_id) != version:
            return False
        self.queued.add(job_id)
        return True

    def chunk_state(self, job_id: str, *, version: str, index: int) -> Any:
        from items_runtime.data.jobs import ChunkState

        if self._of_upload(job_id, version, "ACCEPTED") or (job_id, index) in self.counted:
            return ChunkState.COUNTED if self.versions.get(job_id) == version else ChunkState.NOT_IMPORTING
        if not self._of_upload(job_id, version, "IMPORTING", "FAILED"):
            return ChunkState.NOT_IMPORTING
        return ChunkState.TO_IMPORT

    def count_chunk(self, job_id: str, *, version: str, index: int, records: int, now: str) -> int | None:
        if (job_id, index) in self.counted or not self._of_upload(job_id, version, "IMPORTING", "FAILED"):
            return None
        self.counted.add((job_id, index))
        job = self.jobs[job_id]
        self._update(job_id, chunks_done=job.chunks_done + 1, imported=job.imported + records, updated_at=now)
        return int(self.jobs[job_id].chunks_done)

    def finish_import(self, job_id: str, *, version: str, now: str) -> bool:
        job = self.jobs.get(job_id)
        if not self._of_upload(job_id, version, "IMPORTING", "FAILED") or job.chunks_done != job.chunks_total:
            return False
        self._update(job_id, status="ACCEPTED", reason=None, resume=None, updated_at=now)
        return True

    def fail(self, job_id: str, *, version: str, reason: str, resume: str, now: str) -> bool:
        if not self._of_upload(job_id, version, "VALIDATING", "IMPORTING", "FAILED"):
            return False
        self._update(job_id, status="FAILED", reason=reason, resume=resume, updated_at=now)
        return True


class InMemoryUploads:
    """Uploaded objects by (key, version), read as a stream of small blocks; a missing one answers None,
    as the S3 reader does."""

    BLOCK = 64

    def __init__(self) -> None:
        self.objects: dict[tuple[str, str], bytes] = {}
        self.reads = 0

    def open(self, bucket: str, key: str, version: str, *, start: int = 0, end: int | None = None) -> Any:
        self.reads += 1
        data = self.objects.get((key, version))
        if data is None:
            return None
        part = data[start:end]
        return iter([part[n : n + self.BLOCK] for n in range(0, len(part), self.BLOCK)])


class InMemoryChunkQueue:
    """The import queue: what was sent, in order."""

    def __init__(self) -> None:
        self.sent: list[Any] = []

    def send(self, tasks: Any) -> int:
        batch = list(tasks)
        self.sent.extend(batch)
        return len(batch)

    def take(self) -> list[Any]:
        taken, self.sent = self.sent, []
        return taken


class InMemoryItemWriter:
    """Batch writes into a dict of items; counts every write, so a rewrite shows."""

    def __init__(self) -> None:
        self.items: dict[str, Item] = {}
        self.writes = 0

    def write(self, items: Any) -> None:
        for item in items:
            self.items[item.id] = item
            self.writes += 1


class FixedCapacity:
    """A table's write capacity that stays put (None: on demand)."""

    def __init__(self, units: float | None) -> None:
        self.units = units

    def units_per_second(self) -> float | None:
        return self.units
