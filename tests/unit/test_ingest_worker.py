"""Phase 1 of a bulk import, the ingest worker's handler, driven with SQS batches of EventBridge S3
events over in-memory jobs, uploads and import queue: what it hands to the importer, what it rejects,
retries, redeliveries, the last attempt, probes."""

import json
from collections.abc import Iterator
from typing import Any

import pytest
from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError

from items_runtime import worker as handler
from items_runtime.models import IngestJob
from items_runtime.wiring import worker as dependencies
from services.items.probe import HEALTHY_WORKER_RESPONSE, ingest_probe_event
from tests.unit.fakes import InMemoryChunkQueue, InMemoryJobStore, InMemoryUploads
from tools.events import FakeLambdaContext, s3_object_created, sqs_batch

BUCKET = "dev-items-staging"
DEAD_LETTERS = "arn:aws:sqs:eu-west-1:111111111111:dev-items-IngestDeadLetterQueue"
WORKER_ENVIRONMENT = {
    "TABLE_NAME": "items-table",
    "INGEST_BUCKET_NAME": BUCKET,
    "MAX_UPLOAD_BYTES": "1000",
    "MAX_RECORDS": "5",
    "UPLOAD_URL_EXPIRY_SECONDS": "900",
    "CHUNK_RECORDS": "2",
    "IMPORT_QUEUE_URL": "https://sqs.eu-west-1.amazonaws.com/111111111111/dev-items-IngestImportQueue",
    "INGEST_MAX_RECEIVE_COUNT": "5",
    "INGEST_DEAD_LETTER_QUEUE_ARN": DEAD_LETTERS,
}


class World:
    def __init__(self) -> None:
        self.jobs = InMemoryJobStore()
        self.uploads = InMemoryUploads()
        self.chunks = InMemoryChunkQueue()
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
    dependencies.use(jobs=state.jobs, reader=state.uploads, chunks=state.chunks)
    yield state
    dependencies.clear()


def run(*bodies: str, attempt: int = 1) -> list[str]:
    """The ids of the messages SQS will deliver again: those reported failed, or the whole batch when
    the invocation fails (Powertools raises when every message of a batch failed)."""
    event = sqs_batch(*bodies)
    for record in event["Records"]:
        record["attributes"]["ApproximateReceiveCount"] = str(attempt)
    try:
        response = handler.lambda_handler(event, FakeLambdaContext())
    except BatchProcessingError:
        return [record["messageId"] for record in event["Records"]]
    return [failure["itemIdentifier"] for failure in response["batchItemFailures"]]


FIVE_RECORDS = b'{"name": "a"}\n{"name": "b", "quantity": 3}\n\n{"name": "c"}\n{"name": "d"}\n{"name": "e"}\n'


def test_a_valid_upload_is_handed_to_the_importer_in_chunks_and_nothing_is_written(world: World) -> None:
    job_id = world.job()
    assert run(world.upload(job_id, FIVE_RECORDS)) == []
    job = world.jobs.get(job_id)
    assert (job.status, job.records, job.chunks_total, job.chunks_done, job.imported) == ("IMPORTING", 5, 3, 0, 0)
    tasks = world.chunks.take()
    assert [(t.index, t.line, t.records) for t in tasks] == [(0, 1, 2), (1, 4, 2), (2, 6, 1)]
    # The chunks' byte ranges follow each other and cover every record.
    third, fifth = FIVE_RECORDS.index(b'{"name": "c"}'), FIVE_RECORDS.index(b'{"name": "e"}')
    assert [(t.start, t.end) for t in tasks] == [(0, third), (third, fifth), (fifth, len(FIVE_RECORDS))]
    assert {(t.job_id, t.key, t.version, t.owner, t.chunks) for t in tasks} == {
        (job_id, f"uploads/{job_id}", "v1", "owner-1", 3)
    }


def test_a_csv_upload_hands_its_columns_to_every_chunk(world: World) -> None:
    job_id = world.job("csv")
    assert run(world.upload(job_id, b"Quantity,Name\n1,a\n2,b\n3,c\n")) == []
    tasks = world.chunks.take()
    assert [(t.line, t.records, t.columns) for t in tasks] == [
        (2, 2, ("quantity", "name")),
        (4, 1, ("quantity", "name")),
    ]


def test_a_rejected_upload_writes_nothing_and_queues_no_chunk(world: World) -> None:
    job_id = world.job()
    assert run(world.upload(job_id, b'{"name": "a"}\n{"quantity": 1}\n')) == []
    job = world.jobs.get(job_id)
    assert (job.status, job.records, job.invalid_records, job.imported) == ("REJECTED", 2, 1, 0)
    assert (job.errors[0].line, job.errors[0].field, job.errors[0].message) == (2, "name", "name: Field required")
    assert world.chunks.sent == []


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


def test_a_redelivered_event_is_acknowledged_without_reading_or_queueing_again(world: World) -> None:
    job_id = world.job()
    event = world.upload(job_id, FIVE_RECORDS)
    assert run(event) == []
    reads, queued = world.uploads.reads, len(world.chunks.sent)
    assert run(event, event) == []
    assert (world.uploads.reads, len(world.chunks.sent)) == (reads, queued)


def test_a_second_upload_to_the_same_key_does_not_replace_the_first(world: World) -> None:
    job_id = world.job()
    run(world.upload(job_id, b'{"name": "first"}\n', version="v1"))
    assert run(world.upload(job_id, b'{"name": "second"}\n', version="v2")) == []
    assert {t.version for t in world.chunks.sent} == {"v1"}


def test_only_the_failing_message_of_a_batch_is_retried(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    good, bad = world.job(), world.job()
    bodies = [world.upload(good, b'{"name": "a"}\n'), world.upload(bad, b'{"name": "b"}\n'), "not json", "{}"]
    read = world.uploads.open

    def flaky(bucket: str, key: str, version: str, **kwargs: Any) -> Any:
        if key.endswith(bad):
            raise TimeoutError("S3 read timed out")
        return read(bucket, key, version, **kwargs)

    monkeypatch.setattr(world.uploads, "open", flaky)
    assert run(*bodies) == ["msg-1"]
    assert world.jobs.get(good).status == "IMPORTING"
    # The claimed job waits for the retry of the same object version, which resumes it.
    assert world.jobs.get(bad).status == "VALIDATING"
    monkeypatch.setattr(world.uploads, "open", read)
    assert run(bodies[1]) == []
    assert world.jobs.get(bad).status == "IMPORTING"


def test_a_retry_after_the_chunks_were_partly_queued_queues_them_all_again(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    job_id = world.job()
    event = world.upload(job_id, FIVE_RECORDS)
    send = world.chunks.send

    def lost_connection(tasks: Any) -> int:
        send(list(tasks)[:1])
        raise ConnectionError("SQS unreachable")

    monkeypatch.setattr(world.chunks, "send", lost_connection)
    assert run(event) == ["msg-0"]
    assert world.jobs.get(job_id).status == "IMPORTING"
    monkeypatch.setattr(world.chunks, "send", send)
    assert run(event, attempt=2) == []
    # The importer skips a chunk counted before; every chunk is on the queue at least once.
    assert sorted({t.index for t in world.chunks.sent}) == [0, 1, 2]


def test_an_upload_that_fails_its_last_attempt_is_failed_with_how_to_resume(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    job_id = world.job()
    event = world.upload(job_id, FIVE_RECORDS)

    def unreachable(*args: Any, **kwargs: Any) -> Any:
        raise TimeoutError("S3 read timed out")

    monkeypatch.setattr(world.uploads, "open", unreachable)
    assert run(event, attempt=4) == ["msg-0"]
    assert world.jobs.get(job_id).status == "VALIDATING"
    assert run(event, attempt=5) == ["msg-0"]
    job = world.jobs.get(job_id)
    assert job.status == "FAILED"
    assert job.reason == "the upload failed 5 attempts (TimeoutError: S3 read timed out); nothing new was written"
    assert job.resume.startswith(
        "an operator fixes the cause, then redrives the ingest dead-letter queue "
        "(the stack's IngestDeadLetterQueueUrl output)"
    )
    # The redrive (a new message for the same upload) validates it again and starts its import.
    monkeypatch.undo()
    for name, value in WORKER_ENVIRONMENT.items():
        monkeypatch.setenv(name, value)
    assert run(event) == []
    assert (world.jobs.get(job_id).status, world.jobs.get(job_id).resume) == ("IMPORTING", None)


def test_the_log_of_a_last_attempt_gives_the_operator_the_exact_redrive_command(
    world: World, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    job_id = world.job()
    event = world.upload(job_id, FIVE_RECORDS)

    def unreachable(*args: Any, **kwargs: Any) -> Any:
        raise TimeoutError("S3 read timed out")

    monkeypatch.setattr(world.uploads, "open", unreachable)
    run(event, attempt=5)
    (entry,) = [r for r in caplog.records if r.getMessage() == "upload failed its last attempt"]
    source = sqs_batch(event)["Records"][0]["eventSourceARN"]
    assert entry.redrive == f"aws sqs start-message-move-task --source-arn {DEAD_LETTERS} --destination-arn {source}"
    assert DEAD_LETTERS not in world.jobs.get(job_id).resume  # the job's owner sees no resource names


def test_validation_out_of_time_is_retried_like_any_transient_failure(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    job_id = world.job()
    many = b'{"name": "x"}\n' * 5000
    monkeypatch.setenv("MAX_RECORDS", "10000")
    monkeypatch.setenv("MAX_UPLOAD_BYTES", str(len(many)))
    dependencies.clear()
    dependencies.use(jobs=world.jobs, reader=world.uploads, chunks=world.chunks)
    monkeypatch.setattr(FakeLambdaContext, "get_remaining_time_in_millis", lambda self: 0)
    assert run(world.upload(job_id, many)) == ["msg-0"]
    assert world.jobs.get(job_id).status == "VALIDATING"
    assert world.chunks.sent == []


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
    assert world.chunks.sent == []


def test_the_pre_traffic_probe_gets_the_answer_the_hook_expects(world: World) -> None:
    response = handler.lambda_handler(ingest_probe_event(), FakeLambdaContext())
    assert response == HEALTHY_WORKER_RESPONSE
