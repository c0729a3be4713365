"""Ingest jobs in the items table: created PENDING by the API, claimed by the worker when the file
arrives, and finished ACCEPTED (in the same transaction as the imported items) or REJECTED."""

from __future__ import annotations

import enum
import uuid
from collections.abc import Sequence
from typing import Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import ClientError

from ..errors import StorageUnavailableError
from ..models import IngestJob, Item, RecordError
from .items import CONDITION_FAILED, call, conditional_call, error_code, item_record

JOB_TYPE = "INGEST"
# A transaction holds at most 100 actions: the job's update and up to 99 items.
MAX_TRANSACTION_ITEMS = 99
_ITEM_IDS = uuid.UUID("8f4e7f57-1b1e-4d63-9d36-2d1c8b7f5a10")
_RETRYABLE_REASONS = frozenset({"TransactionConflict", "ThrottlingError", "ProvisionedThroughputExceeded"})
# Only the worker that claimed this object version may finish the job.
_FINISHABLE = "#status = :validating AND object_version = :version"
_serializer = TypeSerializer()
_deserializer = TypeDeserializer()


class Claim(enum.Enum):
    CLAIMED = "claimed"  # this upload is now the job's to validate (first delivery, or a retry of it)
    FINISHED = "duplicate"  # the job already has its outcome: a redelivered event
    OTHER_UPLOAD = "superseded"  # another upload to the same URL is being, or was, processed
    MISSING = "unknown-job"  # no job for this key (an upload not made through POST /ingest)


def job_key(job_id: str) -> dict[str, dict[str, str]]:
    return {"pk": {"S": f"{JOB_TYPE}#{job_id}"}, "sk": {"S": JOB_TYPE}}


def imported_item_id(job_id: str, line: int) -> str:
    """The same record of the same job always becomes the same item, so an import cannot duplicate."""
    return uuid.uuid5(_ITEM_IDS, f"{job_id}:{line}").hex


def _to_record(job: IngestJob) -> dict[str, Any]:
    values = job.model_dump(exclude_none=True)
    return {**job_key(job.id), "type": {"S": JOB_TYPE}, **{k: _serializer.serialize(v) for k, v in values.items()}}


def _from_record(record: dict[str, Any]) -> IngestJob:
    return IngestJob.model_validate({k: _deserializer.deserialize(v) for k, v in record.items()})


class DynamoDbJobStore:
    def __init__(self, client: Any, table_name: str) -> None:
        self._client = client
        self._table = table_name

    def create(self, job: IngestJob) -> None:
        call(
            self._client,
            "put_item",
            TableName=self._table,
            Item=_to_record(job),
            ConditionExpression="attribute_not_exists(pk)",
        )

    def get(self, job_id: str) -> IngestJob | None:
        response = call(self._client, "get_item", TableName=self._table, Key=job_key(job_id), ConsistentRead=True)
        record = response.get("Item")
        return _from_record(record) if record else None

    def claim(self, job_id: str, *, version: str, size: int, now: str) -> tuple[Claim, IngestJob | None]:
        """PENDING → VALIDATING for this object version; a retry of the same version may resume."""
        try:
            response = call(
                self._client,
                "update_item",
                TableName=self._table,
                Key=job_key(job_id),
                UpdateExpression="SET #status = :validating, object_version = :version, object_size = :size, "
                "updated_at = :now",
                ConditionExpression="attribute_exists(pk) AND (#status = :pending OR "
                "(#status = :validating AND object_version = :version))",
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues={
                    ":validating": {"S": "VALIDATING"},
                    ":pending": {"S": "PENDING"},
                    ":version": {"S": version},
                    ":size": {"N": str(size)},
                    ":now": {"S": now},
                },
                ReturnValues="ALL_NEW",
            )
        except ClientError as error:
            if error_code(error) != CONDITION_FAILED:
                raise
            current = self.get(job_id)
            if current is None:
                return Claim.MISSING, None
            return (Claim.FINISHED if current.status in ("ACCEPTED", "REJECTED") else Claim.OTHER_UPLOAD), current
        return Claim.CLAIMED, _from_record(response["Attributes"])

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
    ) -> bool:
        values: dict[str, Any] = {
            ":rejected": {"S": "REJECTED"},
            ":reason": {"S": reason},
            ":errors": _serializer.serialize([e.model_dump() for e in errors]),
            ":imported": {"N": "0"},
            ":now": {"S": now},
        }
        assignments = "#status = :rejected, reason = :reason, errors = :errors, imported = :imported, updated_at = :now"
        if records is not None:
            values[":records"] = {"N": str(records)}
            assignments += ", records = :records"
        if invalid_records is not None:
            values[":invalid"] = {"N": str(invalid_records)}
            assignments += ", invalid_records = :invalid"
        return self._finish(job_id, version, f"SET {assignments}", values)

    def accept(self, job_id: str, *, version: str, items: Sequence[Item], now: str) -> bool:
        """Write every item and mark the job ACCEPTED in one transaction: all of it or none of it.
        False when the job was already finished (a redelivery that lost the race)."""
        if not 0 < len(items) <= MAX_TRANSACTION_ITEMS:
            raise ValueError(f"an import holds 1 to {MAX_TRANSACTION_ITEMS} items, not {len(items)}")
        finish = {
            "Update": {
                "TableName": self._table,
                "Key": job_key(job_id),
                "UpdateExpression": "SET #status = :accepted, records = :count, imported = :count, "
                "invalid_records = :zero, updated_at = :now",
                "ConditionExpression": _FINISHABLE,
                "ExpressionAttributeNames": {"#status": "status"},
                "ExpressionAttributeValues": {
                    ":accepted": {"S": "ACCEPTED"},
                    ":validating": {"S": "VALIDATING"},
                    ":version": {"S": version},
                    ":count": {"N": str(len(items))},
                    ":zero": {"N": "0"},
                    ":now": {"S": now},
                },
            }
        }
        puts = [{"Put": {"TableName": self._table, "Item": item_record(item)}} for item in items]
        try:
            call(self._client, "transact_write_items", TransactItems=[*puts, finish])
        except ClientError as error:
            if error_code(error) != "TransactionCanceledException":
                raise
            reasons = [r.get("Code", "") for r in error.response.get("CancellationReasons", [])]
            if reasons and reasons[-1] == "ConditionalCheckFailed":
                return False
            if _RETRYABLE_REASONS & set(reasons):
                raise StorageUnavailableError(str(error)) from error
            raise
        return True

    def _finish(self, job_id: str, version: str, update: str, values: dict[str, Any]) -> bool:
        return conditional_call(
            self._client,
            "update_item",
            TableName=self._table,
            Key=job_key(job_id),
            UpdateExpression=update,
            ConditionExpression=_FINISHABLE,
            ExpressionAttributeNames={"#status": "status"},
            ExpressionAttributeValues={**values, ":validating": {"S": "VALIDATING"}, ":version": {"S": version}},
        )
