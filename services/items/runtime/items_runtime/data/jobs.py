"""Ingest jobs in the items table. The API creates a job PENDING; the worker claims it when the file
arrives (VALIDATING), rejects it (REJECTED) or starts its import (IMPORTING, with the number of records
and chunks); each chunk, once written, is counted exactly once: one conditional update adds its
index to the job's set of counted chunks and its records to the counters, and fails if the index is
there already, so a count is atomic and a second count of the same chunk changes nothing. Whoever
counts the last chunk finishes the job (ACCEPTED). A step that failed every attempt marks the job
FAILED; a redrive of its dead-letter queue resumes it.

Every change after the claim is conditional on the object version claimed, so a second upload to the
same URL, or a message of another upload, can never move this job."""

from __future__ import annotations

import enum
import uuid
from collections.abc import Sequence
from typing import Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import ClientError

from ..models import IngestJob, RecordError
from .items import CONDITION_FAILED, call, conditional_call, error_code

JOB_TYPE = "INGEST"
_ITEM_IDS = uuid.UUID("8f4e7f57-1b1e-4d63-9d36-2d1c8b7f5a10")
_OF_THIS_UPLOAD = "object_version = :version"
_serializer = TypeSerializer()
_deserializer = TypeDeserializer()


class Claim(enum.Enum):
    CLAIMED = "claimed"  # this upload is now the job's to validate (first delivery, or a retry of it)
    RESUMED = "resumed"  # its import started but not all chunks were queued, or it FAILED: queue them again
    FINISHED = "duplicate"  # the job already has its outcome: a redelivered event
    OTHER_UPLOAD = "superseded"  # another upload to the same URL is being, or was, processed
    MISSING = "unknown-job"  # no job for this key (an upload not made through POST /ingest)


class ChunkState(enum.Enum):
    TO_IMPORT = "to-import"
    COUNTED = "counted"  # imported and counted before: a redelivered or redriven chunk
    NOT_IMPORTING = "not-importing"  # the job is not importing this upload (nothing may be written)


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


def _values(**values: Any) -> dict[str, Any]:
    return {f":{name}": _serializer.serialize(value) for name, value in values.items()}


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

    def _record(self, job_id: str) -> dict[str, Any] | None:
        response = call(self._client, "get_item", TableName=self._table, Key=job_key(job_id), ConsistentRead=True)
        record: dict[str, Any] | None = response.get("Item")
        return record

    def get(self, job_id: str) -> IngestJob | None:
        record = self._record(job_id)
        return _from_record(record) if record else None

    def claim(self, job_id: str, *, version: str, size: int, now: str) -> tuple[Claim, IngestJob | None]:
        """PENDING → VALIDATING for this object version; a retry of the same version may validate again,
        and one whose import had started gets it back (RESUMED) to send its chunks again."""
        try:
            response = call(
                self._client,
                "update_item",
                TableName=self._table,
                Key=job_key(job_id),
                UpdateExpression="SET #status = :validating, object_version = :version, object_size = :size, "
                "updated_at = :now",
                ConditionExpression="attribute_exists(pk) AND (#status = :pending OR (object_version = :version "
                "AND (#status = :validating OR (#status = :failed AND attribute_not_exists(chunks_total)))))",
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues=_values(
                    validating="VALIDATING", pending="PENDING", failed="FAILED", version=version, size=size, now=now
                ),
                ReturnValues="ALL_NEW",
            )
        except ClientError as error:
            if error_code(error) != CONDITION_FAILED:
                raise
            record = self._record(job_id)
            if record is None:
                return Claim.MISSING, None
            current = _from_record(record)
            if current.status in ("ACCEPTED", "REJECTED"):
                return Claim.FINISHED, current
            same_upload = record.get("object_version", {}).get("S") == version
            queued = record.get("chunks_queued", {}).get("BOOL", False)
            if same_upload and (current.status == "FAILED" or (current.status == "IMPORTING" and not queued)):
                return Claim.RESUMED, current
            if same_upload and current.status == "IMPORTING":
                return Claim.FINISHED, current
            return Claim.OTHER_UPLOAD, current
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
            ":errors": _serializer.serialize([e.model_dump(exclude_none=True) for e in errors]),
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
        return conditional_call(
            self._client,
            "update_item",
            TableName=self._table,
            Key=job_key(job_id),
            UpdateExpression=f"SET {assignments}",
            ConditionExpression=f"#status = :validating AND {_OF_THIS_UPLOAD}",
            ExpressionAttributeNames={"#status": "status"},
            ExpressionAttributeValues={**values, **_values(validating="VALIDATING", version=version)},
        )

    def start_import(
        self, job_id: str, *, version: str, records: int, chunks: int, now: str
    ) -> tuple[IngestJob, str] | None:
        """VALIDATING (or a resumed IMPORTING or FAILED) → IMPORTING with its counts; the counts of chunks
        already imported and the import's timestamp are kept. Returns the job and that timestamp, which
        every imported item carries, or None when the job has moved on (finished by another delivery)."""
        try:
            response = call(
                self._client,
                "update_item",
                TableName=self._table,
                Key=job_key(job_id),
                UpdateExpression="SET #status = :importing, records = :records, chunks_total = :chunks, "
                "chunks_done = if_not_exists(chunks_done, :zero), imported = if_not_exists(imported, :zero), "
                "invalid_records = :zero, import_started_at = if_not_exists(import_started_at, :now), "
                "chunks_queued = :false, updated_at = :now REMOVE reason, #resume",
                ConditionExpression=f"{_OF_THIS_UPLOAD} AND #status IN (:validating, :importing, :failed)",
                ExpressionAttributeNames={"#status": "status", "#resume": "resume"},
                ExpressionAttributeValues=_values(
                    importing="IMPORTING",
                    validating="VALIDATING",
                    failed="FAILED",
                    records=records,
                    chunks=chunks,
                    zero=0,
                    false=False,
                    now=now,
                    version=version,
                ),
                ReturnValues="ALL_NEW",
            )
        except ClientError as error:
            if error_code(error) != CONDITION_FAILED:
                raise
            return None
        attributes = response["Attributes"]
        return _from_record(attributes), str(attributes["import_started_at"]["S"])

    def chunks_queued(self, job_id: str, *, version: str) -> bool:
        """Every chunk is on the import queue: a later delivery of the upload's event has nothing to do."""
        return conditional_call(
            self._client,
            "update_item",
            TableName=self._table,
            Key=job_key(job_id),
            UpdateExpression="SET chunks_queued = :true",
            ConditionExpression=_OF_THIS_UPLOAD,
            ExpressionAttributeValues=_values(true=True, version=version),
        )

    def chunk_state(self, job_id: str, *, version: str, index: int) -> ChunkState:
        record = self._record(job_id)
        if record is None or record.get("object_version", {}).get("S") != version:
            return ChunkState.NOT_IMPORTING
        status = record["status"]["S"]
        if status == "ACCEPTED" or str(index) in record.get("done_chunks", {}).get("NS", []):
            return ChunkState.COUNTED
        if status not in ("IMPORTING", "FAILED"):
            return ChunkState.NOT_IMPORTING
        return ChunkState.TO_IMPORT

    def count_chunk(self, job_id: str, *, version: str, index: int, records: int, now: str) -> int | None:
        """Count one imported chunk, once; returns the chunks counted now, or None when this one was
        counted before or the job is not importing this upload."""
        try:
            response = call(
                self._client,
                "update_item",
                TableName=self._table,
                Key=job_key(job_id),
                UpdateExpression="SET updated_at = :now ADD done_chunks :index, chunks_done :one, imported :records",
                ConditionExpression=f"{_OF_THIS_UPLOAD} AND #status IN (:importing, :failed) "
                "AND NOT contains(done_chunks, :chunk)",
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues={
                    **_values(now=now, one=1, records=records, version=version, importing="IMPORTING", failed="FAILED"),
                    ":index": {"NS": [str(index)]},
                    ":chunk": {"N": str(index)},
                },
                ReturnValues="UPDATED_NEW",
            )
        except ClientError as error:
            if error_code(error) != CONDITION_FAILED:
                raise
            return None
        return int(response["Attributes"]["chunks_done"]["N"])

    def finish_import(self, job_id: str, *, version: str, now: str) -> bool:
        """IMPORTING (or FAILED, once a redrive imported the rest) → ACCEPTED when every chunk is counted."""
        return conditional_call(
            self._client,
            "update_item",
            TableName=self._table,
            Key=job_key(job_id),
            UpdateExpression="SET #status = :accepted, updated_at = :now REMOVE reason, #resume",
            ConditionExpression=f"{_OF_THIS_UPLOAD} AND #status IN (:importing, :failed) "
            "AND chunks_done = chunks_total",
            ExpressionAttributeNames={"#status": "status", "#resume": "resume"},
            ExpressionAttributeValues=_values(
                accepted="ACCEPTED", importing="IMPORTING", failed="FAILED", now=now, version=version
            ),
        )

    def fail(self, job_id: str, *, version: str, reason: str, resume: str, now: str) -> bool:
        """Mark an unfinished job FAILED: what went wrong and how an operator resumes it."""
        return conditional_call(
            self._client,
            "update_item",
            TableName=self._table,
            Key=job_key(job_id),
            UpdateExpression="SET #status = :failed, reason = :reason, #resume = :resume, updated_at = :now",
            ConditionExpression=f"{_OF_THIS_UPLOAD} AND #status IN (:validating, :importing, :failed)",
            ExpressionAttributeNames={"#status": "status", "#resume": "resume"},
            ExpressionAttributeValues=_values(
                failed="FAILED",
                validating="VALIDATING",
                importing="IMPORTING",
                reason=reason,
                resume=resume,
                now=now,
                version=version,
            ),
        )
