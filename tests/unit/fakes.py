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
    """The ingest job store's contract (items_runtime/data/jobs.py) over a dict: conditional claim and finish,
    all-or-nothing import."""

    def __init__(self) -> None:
        from items_runtime.models import IngestJob

        self.jobs: dict[str, IngestJob] = {}
        self.versions: dict[str, str] = {}
        self.items: dict[str, Item] = {}

    def create(self, job: Any) -> None:
        if job.id in self.jobs:
            raise AssertionError(f"job {job.id} created twice")
        self.jobs[job.id] = job

    def get(self, job_id: str) -> Any:
        return self.jobs.get(job_id)

    def claim(self, job_id: str, *, version: str, size: int, now: str) -> tuple[Any, Any]:
        from items_runtime.data.jobs import Claim

        job = self.jobs.get(job_id)
        if job is None:
            return Claim.MISSING, None
        resumable = job.status == "VALIDATING" and self.versions.get(job_id) == version
        if job.status != "PENDING" and not resumable:
            return (Claim.FINISHED if job.status in ("ACCEPTED", "REJECTED") else Claim.OTHER_UPLOAD), job
        self.versions[job_id] = version
        self.jobs[job_id] = job.model_copy(update={"status": "VALIDATING", "updated_at": now})
        return Claim.CLAIMED, self.jobs[job_id]

    def _finishable(self, job_id: str, version: str) -> bool:
        return self.jobs[job_id].status == "VALIDATING" and self.versions.get(job_id) == version

    def reject(self, job_id: str, *, version: str, reason: str, errors: Any, **counts: Any) -> bool:
        if not self._finishable(job_id, version):
            return False
        now = counts.pop("now")
        self.jobs[job_id] = self.jobs[job_id].model_copy(
            update={"status": "REJECTED", "reason": reason, "errors": list(errors), "imported": 0, "updated_at": now}
            | {k: v for k, v in counts.items() if v is not None}
        )
        return True

    def accept(self, job_id: str, *, version: str, items: list[Item], now: str) -> bool:
        if not self._finishable(job_id, version):
            return False
        self.items.update({item.id: item for item in items})
        self.jobs[job_id] = self.jobs[job_id].model_copy(
            update={"status": "ACCEPTED", "records": len(items), "imported": len(items), "updated_at": now}
        )
        return True


class InMemoryUploads:
    """Uploaded objects by (key, version); reading a missing one answers None, as the S3 reader does."""

    def __init__(self) -> None:
        self.objects: dict[tuple[str, str], bytes] = {}
        self.reads = 0

    def read(self, upload: Any, max_bytes: int) -> bytes | None:
        self.reads += 1
        data = self.objects.get((upload.key, upload.version))
        return None if data is None else data[: max_bytes + 1]
