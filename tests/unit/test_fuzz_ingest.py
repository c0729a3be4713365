"""Fuzzing both phases of the import: any upload content ends ACCEPTED (every record imported, once)
or REJECTED (nothing written), never a crash or a retry; any message body is either an upload or a
chunk, or acknowledged."""

import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from items_runtime import importer
from items_runtime import worker as handler
from items_runtime.wiring import importer as importer_dependencies
from items_runtime.wiring import worker as dependencies
from tests.unit.fakes import FixedCapacity, InMemoryItemWriter
from tests.unit.test_ingest_importer import IMPORTER_ENVIRONMENT
from tests.unit.test_ingest_worker import BUCKET, WORKER_ENVIRONMENT, World
from tools.events import FakeLambdaContext, s3_object_created, sqs_batch

FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30)
records = st.fixed_dictionaries(
    {}, optional={"name": scalars, "description": scalars, "quantity": scalars, "extra": scalars}
)
jsonl_files = st.lists(records.map(json.dumps) | st.text(max_size=40), max_size=6).map(
    lambda lines: "\n".join(lines).encode()
)
csv_files = st.lists(st.lists(st.text(max_size=12), max_size=4).map(",".join), max_size=6).map(
    lambda rows: "\r\n".join(rows).encode()
)
files = jsonl_files | csv_files | st.binary(max_size=200)


def _run(world: World, body: str, writer: InMemoryItemWriter | None = None) -> list[str]:
    """Phase 1 on one message, then phase 2 on every chunk it queued; the messages SQS would retry."""
    dependencies.use(jobs=world.jobs, reader=world.uploads, chunks=world.chunks)
    importer_dependencies.use(
        jobs=world.jobs, reader=world.uploads, chunks=world.chunks, writer=writer, capacity=FixedCapacity(None)
    )
    try:
        response = handler.lambda_handler(sqs_batch(body), FakeLambdaContext())
        failed = [f["itemIdentifier"] for f in response["batchItemFailures"]]
        while chunks := world.chunks.take():
            answer = importer.lambda_handler(sqs_batch(*(c.model_dump_json() for c in chunks)), FakeLambdaContext())
            failed += [f["itemIdentifier"] for f in answer["batchItemFailures"]]
    finally:
        dependencies.clear()
        importer_dependencies.clear()
    return failed


@FUZZ
@given(data=files, upload_format=st.sampled_from(["jsonl", "csv"]))
def test_any_upload_ends_accepted_or_rejected(monkeypatch: Any, data: bytes, upload_format: str) -> None:
    for name, value in {**WORKER_ENVIRONMENT, **IMPORTER_ENVIRONMENT}.items():
        monkeypatch.setenv(name, value)
    dependencies.clear()
    world, writer = World(), InMemoryItemWriter()
    job_id = world.job(upload_format)
    assert _run(world, world.upload(job_id, data), writer) == []
    job = world.jobs.get(job_id)
    assert job.status in ("ACCEPTED", "REJECTED")
    if job.status == "REJECTED":
        assert job.reason
        assert writer.items == {}
    else:
        assert job.imported == job.records == len(writer.items) == writer.writes > 0


json_values = st.recursive(
    scalars, lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=10), children)
)


@FUZZ
@given(
    detail=st.fixed_dictionaries(
        {},
        optional={
            "bucket": st.just({"name": BUCKET}) | json_values,
            "object": st.fixed_dictionaries(
                {}, optional={"key": st.just("uploads/" + "1" * 32) | json_values, "size": json_values}
            ),
        },
    )
    | json_values,
    body=st.none() | st.text(max_size=50),
)
def test_any_message_is_handled_or_acknowledged(monkeypatch: Any, detail: Any, body: str | None) -> None:
    for name, value in WORKER_ENVIRONMENT.items():
        monkeypatch.setenv(name, value)
    dependencies.clear()
    world = World()
    world.job()
    event = {**s3_object_created(BUCKET, "uploads/x", 1), "detail": detail}
    assert _run(world, body if body is not None else json.dumps(event)) == []


@FUZZ
@given(
    body=st.text(max_size=80)
    | json_values.map(json.dumps)
    | st.dictionaries(st.text(max_size=8), scalars).map(json.dumps)
)
def test_any_message_to_the_importer_is_a_chunk_or_acknowledged(monkeypatch: Any, body: str) -> None:
    for name, value in {**WORKER_ENVIRONMENT, **IMPORTER_ENVIRONMENT}.items():
        monkeypatch.setenv(name, value)
    world, writer = World(), InMemoryItemWriter()
    importer_dependencies.use(
        jobs=world.jobs, reader=world.uploads, chunks=world.chunks, writer=writer, capacity=FixedCapacity(None)
    )
    try:
        response = importer.lambda_handler(sqs_batch(body), FakeLambdaContext())
    finally:
        importer_dependencies.clear()
    assert response == {"batchItemFailures": []}
    assert writer.items == {}
