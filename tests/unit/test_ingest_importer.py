"""Phase 2 of a bulk import, the importer's handler, driven with the chunk messages phase 1 queued (SQS
batches) over in-memory jobs, uploads and items: ids, counts, finishing, redelivery, retries, the last
attempt and its redrive, continuation, pacing."""

import json
from collections.abc import Iterator
from typing import Any

import pytest
from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError

from items_runtime import importer as handler
from items_runtime.data.chunk_queue import ChunkTask
from items_runtime.data.jobs import imported_item_id
from items_runtime.logic.importing import import_chunk
from items_runtime.logic.pacing import WriteBudget
from items_runtime.wiring import importer as importer_dependencies
from items_runtime.wiring import worker as worker_dependencies
from services.items.probe import HEALTHY_WORKER_RESPONSE, ingest_probe_event
from tests.unit.fakes import FixedCapacity, InMemoryItemWriter
from tests.unit.test_ingest_worker import BUCKET, FIVE_RECORDS, WORKER_ENVIRONMENT, World
from tests.unit.test_ingest_worker import run as run_worker
from tools.events import FakeLambdaContext, sqs_batch

IMPORT_DEAD_LETTERS = "arn:aws:sqs:eu-west-1:111111111111:dev-items-IngestImportDeadLetterQueue"
IMPORTER_ENVIRONMENT = {
    "TABLE_NAME": "items-table",
    "INGEST_BUCKET_NAME": BUCKET,
    "IMPORT_QUEUE_URL": WORKER_ENVIRONMENT["IMPORT_QUEUE_URL"],
    "IMPORT_WRITE_SHARE": "0.5",
    "IMPORT_MAX_CONCURRENCY": "2",
    "IMPORT_MAX_RECEIVE_COUNT": "5",
    "IMPORT_DEAD_LETTER_QUEUE_ARN": IMPORT_DEAD_LETTERS,
}


class Import(World):
    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        super().__init__()
        self.writer = InMemoryItemWriter()
        self._monkeypatch = monkeypatch

    def accepted(
        self, data: bytes = FIVE_RECORDS, upload_format: str = "jsonl", chunk_records: int = 2
    ) -> tuple[str, list[ChunkTask]]:
        """A job whose upload passed phase 1, and the chunk messages phase 1 queued for it."""
        self._monkeypatch.setenv("CHUNK_RECORDS", str(chunk_records))
        worker_dependencies.clear()
        worker_dependencies.use(jobs=self.jobs, reader=self.uploads, chunks=self.chunks)
        job_id = self.job(upload_format)
        assert run_worker(self.upload(job_id, data)) == []
        assert self.jobs.get(job_id).status == "IMPORTING"
        return job_id, self.chunks.take()


@pytest.fixture
def world(monkeypatch: pytest.MonkeyPatch) -> Iterator[Import]:
    limits = {"MAX_RECORDS": "1000", "MAX_UPLOAD_BYTES": "100000"}
    for name, value in {**WORKER_ENVIRONMENT, **limits, **IMPORTER_ENVIRONMENT}.items():
        monkeypatch.setenv(name, value)
    importer_dependencies.clear()
    state = Import(monkeypatch)
    # An on-demand table: unpaced, so the handler never sleeps here (pacing has its own tests below).
    importer_dependencies.use(
        jobs=state.jobs, reader=state.uploads, writer=state.writer, chunks=state.chunks, capacity=FixedCapacity(None)
    )
    yield state
    worker_dependencies.clear()
    importer_dependencies.clear()


def run(*bodies: str, attempt: int = 1) -> list[str]:
    event = sqs_batch(*bodies)
    for record in event["Records"]:
        record["attributes"]["ApproximateReceiveCount"] = str(attempt)
    try:
        response = handler.lambda_handler(event, FakeLambdaContext())
    except BatchProcessingError:  # every message failed: the invocation fails, SQS delivers them all again
        return [record["messageId"] for record in event["Records"]]
    return [failure["itemIdentifier"] for failure in response["batchItemFailures"]]


def bodies(tasks: list[ChunkTask]) -> list[str]:
    return [task.model_dump_json() for task in tasks]


def test_each_chunk_writes_its_records_as_items_named_by_the_job_and_the_line(world: Import) -> None:
    job_id, tasks = world.accepted()
    for body in bodies(tasks):
        assert run(body) == []
    assert set(world.writer.items) == {imported_item_id(job_id, line) for line in (1, 2, 4, 5, 6)}
    item = world.writer.items[imported_item_id(job_id, 2)]
    assert (item.name, item.quantity, item.created_by) == ("b", 3, "owner-1")
    # Every item of the import carries the import's timestamp, so a rewrite writes the same item.
    assert {i.created_at for i in world.writer.items.values()} == {tasks[0].imported_at}


def test_the_job_counts_each_chunk_and_is_accepted_with_the_last(world: Import) -> None:
    job_id, tasks = world.accepted()
    run(*bodies(tasks[:2]))
    job = world.jobs.get(job_id)
    assert (job.status, job.chunks_done, job.chunks_total, job.imported, job.records) == ("IMPORTING", 2, 3, 4, 5)
    run(*bodies(tasks[2:]))
    job = world.jobs.get(job_id)
    assert (job.status, job.chunks_done, job.imported) == ("ACCEPTED", 3, 5)


def test_a_csv_chunk_reads_its_columns_and_quoted_lines(world: Import) -> None:
    data = b'name,description\r\nBolt,"M6,\r\nzinc"\r\nNut,\r\n"Washer",flat\r\n'
    job_id, tasks = world.accepted(data, "csv")
    run(*bodies(tasks))
    items = {item.name: item for item in world.writer.items.values()}
    assert items["Bolt"].description == "M6,\r\nzinc"
    assert items["Washer"].id == imported_item_id(job_id, 5)
    assert world.jobs.get(job_id).status == "ACCEPTED"


def test_a_redelivered_chunk_writes_nothing_and_counts_nothing(world: Import) -> None:
    job_id, tasks = world.accepted()
    first = bodies(tasks)[0]
    run(first)
    writes = world.writer.writes
    assert run(first, first) == []
    assert world.writer.writes == writes
    assert (world.jobs.get(job_id).chunks_done, world.jobs.get(job_id).imported) == (1, 2)


def test_a_chunk_of_a_job_that_is_not_importing_its_upload_writes_nothing(world: Import) -> None:
    _, tasks = world.accepted()
    rejected = world.job()
    run_worker(world.upload(rejected, b"not json\n"))
    assert run(tasks[0].model_copy(update={"job_id": rejected}).model_dump_json()) == []
    assert run(tasks[0].model_copy(update={"version": "another-upload"}).model_dump_json()) == []
    assert world.writer.items == {}


def test_a_chunk_that_fails_is_retried_and_every_item_ends_written_once(
    world: Import, monkeypatch: pytest.MonkeyPatch
) -> None:
    job_id, tasks = world.accepted(b"".join(b'{"name": "n%d"}\n' % n for n in range(60)), chunk_records=30)
    write = world.writer.write
    failures = iter([True])

    def throttled_once(items: Any) -> None:
        write(items)  # the first batch lands, then the table runs out of capacity
        if next(failures, False):
            raise ConnectionError("DynamoDB unreachable")

    monkeypatch.setattr(world.writer, "write", throttled_once)
    assert run(*bodies(tasks)) == ["msg-0"]
    assert run(bodies(tasks)[0], attempt=2) == []
    assert world.jobs.get(job_id).status == "ACCEPTED"
    assert sorted(item.name for item in world.writer.items.values()) == sorted(f"n{n}" for n in range(60))


def test_a_chunk_that_fails_its_last_attempt_fails_the_job_and_a_redrive_finishes_it(
    world: Import, monkeypatch: pytest.MonkeyPatch
) -> None:
    job_id, tasks = world.accepted()
    first, *rest = bodies(tasks)
    run(*rest)
    write = world.writer.write

    def unavailable(items: Any) -> None:
        raise ConnectionError("DynamoDB unreachable")

    monkeypatch.setattr(world.writer, "write", unavailable)
    assert run(first, attempt=4) == ["msg-0"]
    assert world.jobs.get(job_id).status == "IMPORTING"
    assert run(first, attempt=5) == ["msg-0"]
    job = world.jobs.get(job_id)
    assert (job.status, job.imported, job.chunks_done, job.chunks_total) == ("FAILED", 3, 2, 3)
    assert job.reason.startswith("chunk 1 of 3 (from line 1) failed 5 attempts (ConnectionError: DynamoDB unreachable)")
    assert job.resume.startswith(
        "an operator fixes the cause, then redrives the import dead-letter queue "
        "(the stack's ImportDeadLetterQueueUrl output)"
    )
    # The redrive delivers the message again as a new one (receive count 1).
    monkeypatch.setattr(world.writer, "write", write)
    assert run(first) == []
    job = world.jobs.get(job_id)
    assert (job.status, job.imported, job.reason, job.resume) == ("ACCEPTED", 5, None, None)


def test_an_upload_deleted_during_its_import_fails_the_job_saying_to_upload_again(world: Import) -> None:
    job_id, tasks = world.accepted()
    world.uploads.objects.clear()
    assert run(bodies(tasks)[0]) == []
    job = world.jobs.get(job_id)
    assert (job.status, job.reason) == ("FAILED", "the uploaded file was deleted before chunk 1 of 3 was imported")
    assert job.resume.startswith("upload the file again")


@pytest.mark.parametrize(
    "body",
    ["", "[]", "{}", '{"probe": "codedeploy-pre-traffic-hook"}', json.dumps({"kind": "ingest-chunk", "job_id": 1})],
    ids=["empty", "list", "object", "probe", "malformed-chunk"],
)
def test_messages_that_are_not_chunks_are_acknowledged(world: Import, body: str) -> None:
    assert run(body) == []
    assert world.writer.items == {}


def test_a_chunk_message_with_a_field_it_does_not_know_is_not_a_chunk(world: Import) -> None:
    _, tasks = world.accepted()
    forged = {**json.loads(tasks[0].model_dump_json()), "table": "another-table"}
    assert run(json.dumps(forged)) == []
    assert world.writer.items == {}


def test_the_pre_traffic_probe_gets_the_answer_the_hook_expects(world: Import) -> None:
    assert handler.lambda_handler(ingest_probe_event(), FakeLambdaContext()) == HEALTHY_WORKER_RESPONSE


# --- pacing and continuation (the logic, on a clock of its own) -------------------------------------------------


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def _import(world: Import, task: ChunkTask, budget: WriteBudget, clock: Clock, deadline: float = 1e9) -> Any:
    return import_chunk(
        task,
        bucket=BUCKET,
        jobs=world.jobs,
        reader=world.uploads,
        writer=world.writer,
        chunks=world.chunks,
        budget=budget,
        out_of_time=lambda wait: clock.now + wait >= deadline,
        sleep=clock.sleep,
    )


FIFTY = b"".join(b'{"name": "n%d"}\n' % n for n in range(50))


def test_an_import_waits_for_its_share_of_the_write_capacity(world: Import) -> None:
    _, (task,) = world.accepted(FIFTY, chunk_records=50)
    clock = Clock()
    # 5 write units a second for this importer; each of these items costs 1.
    outcome = _import(world, task, WriteBudget(5.0, clock=clock), clock)
    assert (outcome.outcome, outcome.written) == ("imported", 50)
    assert clock.now == pytest.approx(50 / 5)


def test_a_chunk_out_of_time_goes_on_in_a_new_message_from_where_it_stopped(world: Import) -> None:
    job_id, (task,) = world.accepted(FIFTY, chunk_records=50)
    clock = Clock()
    # The first batch waits 5 s; waiting another 5 would pass the deadline at 8 s.
    first = _import(world, task, WriteBudget(5.0, clock=clock), clock, deadline=8.0)
    assert (first.outcome, first.written) == ("continued", 25)
    (rest,) = world.chunks.take()
    assert (rest.index, rest.line, rest.done, rest.start) == (0, 26, 25, FIFTY.index(b'{"name": "n25"}'))
    assert world.jobs.get(job_id).chunks_done == 0
    second = _import(world, rest, WriteBudget(5.0, clock=clock), clock)
    assert (second.outcome, second.written, second.finished) == ("imported", 25, True)
    assert (world.jobs.get(job_id).imported, len(world.writer.items)) == (50, 50)
