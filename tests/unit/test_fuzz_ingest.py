"""Fuzzing the ingest worker: any upload content ends ACCEPTED or REJECTED (never a crash, never a
retry), and any message body is either an upload or acknowledged."""

import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from items_runtime import worker as handler
from items_runtime.wiring import worker as dependencies
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


def _run(world: World, body: str) -> list[str]:
    dependencies.use(jobs=world.jobs, reader=world.uploads)
    try:
        response = handler.lambda_handler(sqs_batch(body), FakeLambdaContext())
    finally:
        dependencies.clear()
    return [f["itemIdentifier"] for f in response["batchItemFailures"]]


@FUZZ
@given(data=files, upload_format=st.sampled_from(["jsonl", "csv"]))
def test_any_upload_ends_accepted_or_rejected(monkeypatch: Any, data: bytes, upload_format: str) -> None:
    for name, value in WORKER_ENVIRONMENT.items():
        monkeypatch.setenv(name, value)
    dependencies.clear()
    world = World()
    job_id = world.job(upload_format)
    assert _run(world, world.upload(job_id, data)) == []
    job = world.jobs.get(job_id)
    assert job.status in ("ACCEPTED", "REJECTED")
    if job.status == "REJECTED":
        assert job.reason
        assert world.jobs.items == {}
    else:
        assert job.imported == len(world.jobs.items) > 0


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
