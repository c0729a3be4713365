"""The ingest worker's handler, driven with SQS batches of EventBridge S3 events, over in-memory jobs
and uploads: outcomes, partial batch failures, redelivery, probes."""

import json
from collections.abc import Iterator
from typing import Any

import pytest

from items_runtime import worker as handler
from items_runtime.data.jobs import imported_item_id
from items_runtime.models import IngestJob
from items_runtime.wiring import worker as dependencies
from services.items.probe import HEALTHY_WORKER_RESPONSE, ingest_probe_event
from tests.unit.fakes import InMemoryJobStore, InMemoryUploads
from tools.events import FakeLambdaContext, s3_object_created, sqs_batch

BUCKET = "dev-items-staging"
WORKER_ENVIRONMENT = {
    "TABLE_NAME": "items-table",
    "INGEST_BUCKET_NAME": BUCKET,
    "MAX_UPLOAD_BYTES": "1000",
    "MAX_RECORDS": "3",
    "UPLOAD_URL_EXPIRY_SECONDS": "900",
}


class World:
    def __init__(self) -> None:
        self.jobs = InMemoryJobStore()
        self.uploads = InMemoryUploads()
        self.count = 0

    def job(self, upload_format: str = "jsonl", owner: str = "owner-1") -> str:
        self.count += 1
        job_id = f"{self.count:032x}"
        self.jobs.create(
            IngestJob(
                id=job_id,
                status="PENDING",
                format=upload_format,  # type: ignore[arg-type]
                created_at="2026-11-22T10:00:00.000+00:00",
                updated_at="2026-11-22T10:00:00.000+00:00",
                created_by=owner,
                upload_expires_at="2026-11-22T10:15:00.000+00:00",
            )
        )
        return job_id

    def upload(self, job_id: str, data: bytes, version: str = "v1") -> str:
        key = f"uploads/{job_id}"
        self.uploads.objects[(key, version)] = data
        return json.dumps(s3_object_created(BUCKET, key, len(data), version))


@pytest.fixture
def world(monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    for name, value in WORKER_ENVIRONMENT.items():
        monkeypatch.setenv(name, value)
    dependencies.clear()
    state = World()
    dependencies.use(jobs=state.jobs, reader=state.uploads)
    yield state
    dependencies.clear()


def run(*bodies: str) -> list[str]:
    response = handler.lambda_handler(sqs_batch(*bodies), FakeLambdaContext())
    return [failure["itemIdentifier"] for failure in response["batchItemFailures"]]


def test_an_upload_is_imported_with_items_owned_by_the_uploader(world: World) -> None:
    job_id = world.job()
    assert run(world.upload(job_id, b'{"name": "a"}\n{"name": "b", "quantity": 3}\n')) == []
    job = world.jobs.get(job_id)
    assert (job.status, job.records, job.imported) == ("ACCEPTED", 2, 2)
    first = world.jobs.items[imported_item_id(job_id, 1)]
    assert (first.name, first.created_by) == ("a", "owner-1")
    assert world.jobs.items[imported_item_id(job_id, 2)].quantity == 3


def test_a_rejected_upload_writes_no_item(world: World) -> None:
    job_id = world.job()
    assert run(world.upload(job_id, b'{"name": "a"}\n{"quantity": 1}\n')) == []
    job = world.jobs.get(job_id)
    assert (job.status, job.invalid_records, job.imported) == ("REJECTED", 1, 0)
    assert job.errors[0].message == "name: Field required"
    assert world.jobs.items == {}


def test_an_upload_larger_than_the_limit_is_rejected_without_being_read(world: World) -> None:
    job_id = world.job()
    assert run(world.upload(job_id, b"x" * 1001)) == []
    assert world.jobs.get(job_id).reason == "the upload is 1001 bytes; the limit is 1000 bytes"
    assert world.uploads.reads == 0


def test_an_upload_deleted_before_it_was_read_is_rejected(world: World) -> None:
    job_id = world.job()
    body = json.dumps(s3_object_created(BUCKET, f"uploads/{job_id}", 10, "gone"))
    assert run(body) == []
    assert world.jobs.get(job_id).reason == "the upload was deleted before it could be read"


def test_a_redelivered_event_is_acknowledged_without_reading_or_writing_again(world: World) -> None:
    job_id = world.job()
    event = world.upload(job_id, b'{"name": "a"}\n')
    assert run(event) == []
    reads = world.uploads.reads
    assert run(event, event) == []
    assert world.uploads.reads == reads
    assert world.jobs.get(job_id).imported == 1


def test_a_second_upload_to_the_same_key_does_not_replace_the_first(world: World) -> None:
    job_id = world.job()
    run(world.upload(job_id, b'{"name": "first"}\n', version="v1"))
    assert run(world.upload(job_id, b'{"name": "second"}\n', version="v2")) == []
    assert [i.name for i in world.jobs.items.values()] == ["first"]


def test_only_the_failing_message_of_a_batch_is_retried(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    good, bad = world.job(), world.job()
    bodies = [world.upload(good, b'{"name": "a"}\n'), world.upload(bad, b'{"name": "b"}\n'), "not json", "{}"]
    read = world.uploads.read

    def flaky(upload: Any, max_bytes: int) -> bytes | None:
        if upload.job_id == bad:
            raise TimeoutError("S3 read timed out")
        return read(upload, max_bytes)

    monkeypatch.setattr(world.uploads, "read", flaky)
    assert run(*bodies) == ["msg-1"]
    assert world.jobs.get(good).status == "ACCEPTED"
    # The claimed job waits for the retry of the same object version, which resumes it.
    assert world.jobs.get(bad).status == "VALIDATING"
    monkeypatch.setattr(world.uploads, "read", read)
    assert run(bodies[1]) == []
    assert world.jobs.get(bad).status == "ACCEPTED"


@pytest.mark.parametrize(
    "body",
    [
        json.dumps(s3_object_created("another-bucket", "uploads/" + "a" * 32, 5)),
        json.dumps(s3_object_created(BUCKET, "elsewhere/file.csv", 5)),
        json.dumps(s3_object_created(BUCKET, "uploads/" + "f" * 32, 5)),  # no such job
        json.dumps({**s3_object_created(BUCKET, "uploads/" + "a" * 32, 5), "detail-type": "Object Deleted"}),
        json.dumps({**s3_object_created(BUCKET, "uploads/" + "a" * 32, 5), "detail": []}),
        json.dumps(s3_object_created(BUCKET, "uploads/" + "a" * 32, -1)),
        "[]",
        "",
    ],
    ids=["other-bucket", "other-prefix", "unknown-job", "deleted", "bad-detail", "bad-size", "list", "empty"],
)
def test_messages_that_are_not_uploads_of_a_known_job_are_acknowledged(world: World, body: str) -> None:
    assert run(body) == []
    assert world.jobs.items == {}


def test_the_pre_traffic_probe_gets_the_answer_the_hook_expects(world: World) -> None:
    response = handler.lambda_handler(ingest_probe_event(), FakeLambdaContext())
    assert response == HEALTHY_WORKER_RESPONSE
