"""The whole ingest path on the emulated AWS built from the dev template: POST /ingest through the real
API handler, a PUT to the presigned URL, S3's EventBridge notification matched by the stack's rule
and delivered to the stack's queue, the worker handler (phase 1) invoked with that batch the way
Lambda's SQS event source would, the chunks it queues on the stack's import queue fed to the real
importer (phase 2) the same way, and the outcome read back through GET /ingest/{id} and the table."""

import csv
import io
import json
import os
import urllib.parse
import urllib.request
from collections.abc import Callable
from typing import Any

import pytest

from items_runtime.data.capacity import DynamoDbWriteCapacity
from items_runtime.data.jobs import imported_item_id
from tools.emulator import (
    ItemsResources,
    client,
    create_table,
    poll_queue_once,
    queue_depth,
    redrive,
    set_write_capacity,
    sqs_event,
)
from tools.events import FakeLambdaContext, rest_event

CALLER = {"sub": "ingest-user"}
ROOMY_UNITS = 10_000


def api(handler: Any, method: str, path: str, **kwargs: Any) -> tuple[int, Any]:
    kwargs.setdefault("claims", CALLER)
    response = handler.lambda_handler(rest_event(method, path, **kwargs), FakeLambdaContext())
    return response["statusCode"], json.loads(response["body"]) if response.get("body") else None


def start(handler: Any, upload_format: str = "jsonl", claims: dict[str, str] = CALLER) -> dict[str, Any]:
    status, ticket = api(handler, "POST", "/ingest", body={"format": upload_format}, claims=claims)
    assert status == 201, ticket
    return ticket


def upload(ticket: dict[str, Any], data: bytes) -> int:
    request = urllib.request.Request(
        ticket["upload"]["url"], data=data, method="PUT", headers=ticket["upload"]["headers"]
    )
    with urllib.request.urlopen(request) as response:
        return int(response.status)


def status_of(handler: Any, ingest_id: str, claims: dict[str, str] = CALLER) -> Any:
    code, job = api(
        handler,
        "GET",
        f"/ingest/{ingest_id}",
        resource="/ingest/{ingest_id}",
        path_parameters={"ingest_id": ingest_id},
        claims=claims,
    )
    assert code == 200, job
    return job


def drain(resources: ItemsResources, queue_url: str, handler: Any) -> int:
    """Lambda's event source on one queue, until the queue is empty; returns the messages handled."""
    handled = 0
    batch_size = resources.batch_sizes[queue_url]
    while count := poll_queue_once(
        resources.endpoint, queue_url, handler.lambda_handler, FakeLambdaContext(), batch_size
    ):
        handled += count
    return handled


def run_import(resources: ItemsResources, worker: Any, importer: Any) -> tuple[int, int]:
    """Both event sources until both queues are empty: (uploads handled, chunk messages handled)."""
    uploads = drain(resources, resources.ingest_queue_url, worker)
    return uploads, drain(resources, resources.import_queue_url, importer)


@pytest.fixture(autouse=True)
def own_table(
    items_handler: Any,
    ingest_worker: Any,
    ingest_importer: Any,
    items_resources: ItemsResources,
    monkeypatch: pytest.MonkeyPatch,
    request: pytest.FixtureRequest,
) -> str:
    """A table of the template's own definition for each test, with room for imports: dev's 2 write
    units a second would pace a test's few hundred records over minutes (pacing is specified in
    tests/unit and measured in the bench), and the imports stay out of the table other tests use."""
    from items_runtime import settings
    from items_runtime.wiring import api, importer, worker

    name = f"ingest-{request.node.name}"[:255]
    dynamodb = client("dynamodb", items_resources.endpoint)
    create_table(dynamodb, name, items_resources.template["Resources"][items_resources.table_name]["Properties"])
    set_write_capacity(items_resources.endpoint, name, items_resources.list_index_name, ROOMY_UNITS)
    monkeypatch.setenv("TABLE_NAME", name)
    for cached in (settings.api_settings, api._default_ingest_jobs, api._default_repository):
        cached.cache_clear()
    worker.clear()
    importer.clear()
    return name


def items_of(resources: ItemsResources, created_by: str) -> list[dict[str, Any]]:
    dynamodb = client("dynamodb", resources.endpoint)
    request: dict[str, Any] = {
        "TableName": os.environ["TABLE_NAME"],
        "FilterExpression": "begins_with(pk, :item) AND created_by = :owner",
        "ExpressionAttributeValues": {":item": {"S": "ITEM#"}, ":owner": {"S": created_by}},
    }
    found: list[dict[str, Any]] = []
    while True:
        page = dynamodb.scan(**request)
        found += page["Items"]
        if "LastEvaluatedKey" not in page:
            return found
        request["ExclusiveStartKey"] = page["LastEvaluatedKey"]


@pytest.fixture
def small_chunks(monkeypatch: pytest.MonkeyPatch, ingest_worker: Any) -> int:
    """Chunks of 50 records (two batch writes), so a test's few hundred records make several (dev's
    are 1000)."""
    from items_runtime.wiring import worker as dependencies

    monkeypatch.setenv("CHUNK_RECORDS", "50")
    dependencies.clear()
    return 50


def test_an_upload_is_validated_imported_and_reported(
    items_handler: Any, ingest_worker: Any, ingest_importer: Any, items_resources: ItemsResources
) -> None:
    claims = {"sub": "ingest-accepted"}
    ticket = start(items_handler, claims=claims)
    assert ticket["status"] == "PENDING"
    assert ticket["limits"] == {"max_bytes": 1024**3, "max_records": 1_000_000}
    assert status_of(items_handler, ticket["id"], claims)["status"] == "PENDING"
    lines = [{"name": f"bulk-{n}", "quantity": n} for n in range(3)]
    assert upload(ticket, "\n".join(json.dumps(line) for line in lines).encode()) == 200

    assert drain(items_resources, items_resources.ingest_queue_url, ingest_worker) == 1
    job = status_of(items_handler, ticket["id"], claims)
    assert (job["status"], job["records"], job["imported"], job["chunks_done"], job["chunks_total"]) == (
        "IMPORTING",
        3,
        0,
        0,
        1,
    )
    assert items_of(items_resources, "ingest-accepted") == []
    assert drain(items_resources, items_resources.import_queue_url, ingest_importer) == 1
    job = status_of(items_handler, ticket["id"], claims)
    assert (job["status"], job["records"], job["imported"], job["chunks_done"], job["errors"]) == (
        "ACCEPTED",
        3,
        3,
        1,
        [],
    )
    imported = items_of(items_resources, "ingest-accepted")
    assert sorted(r["name"]["S"] for r in imported) == ["bulk-0", "bulk-1", "bulk-2"]
    # The imported items are ordinary items: the list route shows them.
    listed = api(items_handler, "GET", "/items", query={"limit": "100"}, claims=claims)[1]["items"]
    assert {"bulk-0", "bulk-1", "bulk-2"} <= {item["name"] for item in listed}


def test_a_large_json_lines_upload_is_imported_in_chunks_and_counted_in_the_table(
    items_handler: Any, ingest_worker: Any, ingest_importer: Any, items_resources: ItemsResources, small_chunks: int
) -> None:
    claims = {"sub": "ingest-large-jsonl"}
    ticket = start(items_handler, claims=claims)
    records = 500
    upload(ticket, b"".join(b'{"name": "record %d", "quantity": %d}\n' % (n, n % 1000) for n in range(records)))
    assert run_import(items_resources, ingest_worker, ingest_importer) == (1, records // small_chunks)
    job = status_of(items_handler, ticket["id"], claims)
    assert (job["status"], job["records"], job["imported"]) == ("ACCEPTED", records, records)
    assert (job["chunks_done"], job["chunks_total"]) == (10, 10)
    stored = items_of(items_resources, "ingest-large-jsonl")
    assert {r["id"]["S"] for r in stored} == {imported_item_id(ticket["id"], line) for line in range(1, records + 1)}
    assert len(stored) == records


def test_a_large_csv_upload_with_quoted_lines_is_imported_in_chunks(
    items_handler: Any, ingest_worker: Any, ingest_importer: Any, items_resources: ItemsResources, small_chunks: int
) -> None:
    claims = {"sub": "ingest-large-csv"}
    ticket = start(items_handler, "csv", claims=claims)
    text = io.StringIO(newline="")
    rows = csv.writer(text)
    rows.writerow(["name", "description", "quantity"])
    for n in range(150):
        rows.writerow([f"part {n}", f"size {n},\r\nsecond line" if n % 7 == 0 else "", n])
    upload(ticket, text.getvalue().encode())
    assert run_import(items_resources, ingest_worker, ingest_importer) == (1, 3)
    job = status_of(items_handler, ticket["id"], claims)
    assert (job["status"], job["imported"], job["chunks_total"]) == ("ACCEPTED", 150, 3)
    descriptions = {r["name"]["S"]: r["description"]["S"] for r in items_of(items_resources, "ingest-large-csv")}
    assert len(descriptions) == 150
    assert descriptions["part 98"] == "size 98,\r\nsecond line"


def test_a_file_with_one_bad_record_at_the_end_writes_nothing(
    items_handler: Any, ingest_worker: Any, ingest_importer: Any, items_resources: ItemsResources, small_chunks: int
) -> None:
    claims = {"sub": "ingest-bad-at-the-end"}
    ticket = start(items_handler, claims=claims)
    upload(ticket, b'{"name": "fine"}\n' * 250 + b'{"name": "fine", "quantity": -1}\n')
    assert run_import(items_resources, ingest_worker, ingest_importer) == (1, 0)
    job = status_of(items_handler, ticket["id"], claims)
    assert (job["status"], job["records"], job["invalid_records"], job["imported"]) == ("REJECTED", 251, 1, 0)
    assert job["errors"] == [
        {"line": 251, "field": "quantity", "message": "quantity: Input should be greater than or equal to 0"}
    ]
    assert items_of(items_resources, "ingest-bad-at-the-end") == []


def test_an_upload_breaking_the_schema_is_rejected_with_every_error_counted(
    items_handler: Any, ingest_worker: Any, ingest_importer: Any, items_resources: ItemsResources
) -> None:
    claims = {"sub": "ingest-rejected"}
    ticket = start(items_handler, claims=claims)
    upload(ticket, b'{"name": "fine"}\n{"name": ""}\nnot json\n{"name": "also fine", "colour": "red"}\n')
    run_import(items_resources, ingest_worker, ingest_importer)
    job = status_of(items_handler, ticket["id"], claims)
    assert job["status"] == "REJECTED"
    assert (job["records"], job["invalid_records"], job["imported"]) == (4, 3, 0)
    assert job["reason"] == "3 of 4 records are invalid; nothing was imported"
    assert [(e["line"], e["field"]) for e in job["errors"]] == [(2, "name"), (3, None), (4, "colour")]
    assert items_of(items_resources, "ingest-rejected") == []


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"\xff\xfe\x00garbage", "not UTF-8"),
        (b"", "holds no records"),
        (b'{"name": "x"}\n' * 100, "more than the limit of 99 records"),
        (b"x" * 1_048_577, "the limit is 1048576 bytes"),
    ],
    ids=["binary", "empty", "too-many-records", "too-large"],
)
def test_invalid_files_are_rejected_with_the_reason(
    items_handler: Any,
    ingest_worker: Any,
    ingest_importer: Any,
    items_resources: ItemsResources,
    monkeypatch: pytest.MonkeyPatch,
    data: bytes,
    reason: str,
) -> None:
    from items_runtime.wiring import worker as dependencies

    # Lower limits than dev's 1 GiB and 1,000,000 records, so a test file can break them.
    monkeypatch.setenv("MAX_RECORDS", "99")
    monkeypatch.setenv("MAX_UPLOAD_BYTES", "1048576")
    dependencies.clear()
    ticket = start(items_handler)
    upload(ticket, data)
    run_import(items_resources, ingest_worker, ingest_importer)
    job = status_of(items_handler, ticket["id"])
    assert job["status"] == "REJECTED"
    assert reason in job["reason"]


def test_a_chunk_that_fails_transiently_is_retried_and_every_item_is_written_exactly_once(
    items_handler: Any, ingest_worker: Any, ingest_importer: Any, items_resources: ItemsResources, small_chunks: int
) -> None:
    from items_runtime.wiring import importer as dependencies

    claims = {"sub": "ingest-transient"}
    ticket = start(items_handler, claims=claims)
    upload(ticket, b"".join(b'{"name": "n%d"}\n' % n for n in range(200)))
    drain(items_resources, items_resources.ingest_queue_url, ingest_worker)
    writer = dependencies.get("writer")
    calls = {"n": 0}

    class ThrottledMidChunk:
        """The real writer; the table runs out of capacity once, after the second chunk's first batches."""

        def write(self, items: Any) -> None:
            writer.write(items)
            calls["n"] += 1
            if calls["n"] == 3:  # chunk 2 of 4, the first of its two batches written
                raise ConnectionError("DynamoDB unreachable")

    dependencies.use(writer=ThrottledMidChunk())
    assert drain(items_resources, items_resources.import_queue_url, ingest_importer) == 4 + 1  # one retry
    job = status_of(items_handler, ticket["id"], claims)
    assert (job["status"], job["imported"], job["chunks_done"]) == ("ACCEPTED", 200, 4)
    stored = items_of(items_resources, "ingest-transient")
    assert len(stored) == len({r["id"]["S"] for r in stored}) == 200


def test_a_redelivered_chunk_writes_no_duplicates(
    items_handler: Any, ingest_worker: Any, ingest_importer: Any, items_resources: ItemsResources, small_chunks: int
) -> None:
    claims = {"sub": "ingest-redelivered-chunk"}
    ticket = start(items_handler, claims=claims)
    upload(ticket, b"".join(b'{"name": "n%d"}\n' % n for n in range(100)))
    drain(items_resources, items_resources.ingest_queue_url, ingest_worker)
    sqs = client("sqs", items_resources.endpoint)
    first = sqs.receive_message(QueueUrl=items_resources.import_queue_url)["Messages"][0]
    sqs.change_message_visibility(
        QueueUrl=items_resources.import_queue_url, ReceiptHandle=first["ReceiptHandle"], VisibilityTimeout=0
    )
    drain(items_resources, items_resources.import_queue_url, ingest_importer)
    assert status_of(items_handler, ticket["id"], claims)["status"] == "ACCEPTED"
    # SQS delivers at least once: the same chunk arrives again after the job finished.
    sqs.send_message(QueueUrl=items_resources.import_queue_url, MessageBody=first["Body"])
    assert drain(items_resources, items_resources.import_queue_url, ingest_importer) == 1
    job = status_of(items_handler, ticket["id"], claims)
    assert (job["status"], job["imported"], job["chunks_done"]) == ("ACCEPTED", 100, 2)
    assert len(items_of(items_resources, "ingest-redelivered-chunk")) == 100


def _failing_until_fixed(dependencies: Any, name: str, fails: Callable[..., bool]) -> dict[str, bool]:
    """Wrap a real collaborator so that the calls `fails` picks raise until `broken` is switched off."""
    real = dependencies.get(name) if hasattr(dependencies, "get") else getattr(dependencies, name)()
    state = {"broken": True}

    class Wrapped:
        def __getattr__(self, attribute: str) -> Any:
            method = getattr(real, attribute)

            def call(*args: Any, **kwargs: Any) -> Any:
                if state["broken"] and fails(attribute, *args, **kwargs):
                    raise ConnectionError(f"{name} unreachable")
                return method(*args, **kwargs)

            return call

    dependencies.use(**{name: Wrapped()})
    return state


def test_a_dead_lettered_chunk_ends_the_job_failed_and_a_redrive_resumes_it(
    items_handler: Any, ingest_worker: Any, ingest_importer: Any, items_resources: ItemsResources, small_chunks: int
) -> None:
    from items_runtime.wiring import importer as dependencies

    claims = {"sub": "ingest-dead-chunk"}
    ticket = start(items_handler, claims=claims)
    upload(ticket, b"".join(b'{"name": "n%d"}\n' % n for n in range(150)))
    drain(items_resources, items_resources.ingest_queue_url, ingest_worker)
    reader = _failing_until_fixed(dependencies, "reader", lambda method, *a, **k: k.get("start", 0) > 0)
    # Chunk 1 is imported; chunks 2 and 3 fail every attempt (5 receives), then SQS moves them aside.
    assert drain(items_resources, items_resources.import_queue_url, ingest_importer) == 1 + 2 * 5
    job = status_of(items_handler, ticket["id"], claims)
    assert (job["status"], job["imported"], job["chunks_done"], job["chunks_total"]) == ("FAILED", 50, 1, 3)
    assert "failed 5 attempts (ConnectionError: reader unreachable)" in job["reason"]
    assert "redrives the import dead-letter queue (the stack's ImportDeadLetterQueueUrl output)" in job["resume"]
    assert queue_depth(items_resources.endpoint, items_resources.import_dead_letter_queue_url) == 2

    reader["broken"] = False
    assert (
        redrive(
            items_resources.endpoint, items_resources.import_dead_letter_queue_url, items_resources.import_queue_url
        )
        == 2
    )
    assert drain(items_resources, items_resources.import_queue_url, ingest_importer) == 2
    job = status_of(items_handler, ticket["id"], claims)
    assert (job["status"], job["imported"], job["chunks_done"], job["reason"]) == ("ACCEPTED", 150, 3, None)
    assert len(items_of(items_resources, "ingest-dead-chunk")) == 150


def test_a_dead_lettered_upload_ends_failed_instead_of_validating_forever_and_a_redrive_resumes_it(
    items_handler: Any, ingest_worker: Any, ingest_importer: Any, items_resources: ItemsResources
) -> None:
    from items_runtime.wiring import worker as dependencies

    claims = {"sub": "ingest-dead-upload"}
    ticket = start(items_handler, claims=claims)
    upload(ticket, b'{"name": "late"}\n')
    reader = _failing_until_fixed(dependencies, "reader", lambda method, *a, **k: True)
    assert drain(items_resources, items_resources.ingest_queue_url, ingest_worker) == 5
    job = status_of(items_handler, ticket["id"], claims)
    assert (job["status"], job["imported"]) == ("FAILED", None)
    assert job["reason"].startswith("the upload failed 5 attempts (ConnectionError: reader unreachable)")
    assert queue_depth(items_resources.endpoint, items_resources.ingest_dead_letter_queue_url) == 1

    reader["broken"] = False
    redrive(items_resources.endpoint, items_resources.ingest_dead_letter_queue_url, items_resources.ingest_queue_url)
    assert run_import(items_resources, ingest_worker, ingest_importer) == (1, 1)
    job = status_of(items_handler, ticket["id"], claims)
    assert (job["status"], job["imported"], job["resume"]) == ("ACCEPTED", 1, None)


def test_a_redelivered_event_does_not_process_the_file_twice(
    items_handler: Any, ingest_worker: Any, ingest_importer: Any, items_resources: ItemsResources
) -> None:
    claims = {"sub": "ingest-redelivered"}
    ticket = start(items_handler, claims=claims)
    upload(ticket, b'{"name": "once"}\n')
    sqs = client("sqs", items_resources.endpoint)
    (message,) = sqs.receive_message(QueueUrl=items_resources.ingest_queue_url, MaxNumberOfMessages=10)["Messages"]
    # SQS delivers at least once: the same event arrives again after the first was handled.
    sqs.send_message(QueueUrl=items_resources.ingest_queue_url, MessageBody=message["Body"])
    sqs.change_message_visibility(
        QueueUrl=items_resources.ingest_queue_url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0
    )
    assert run_import(items_resources, ingest_worker, ingest_importer) == (2, 1)
    job = status_of(items_handler, ticket["id"], claims)
    assert (job["status"], job["imported"]) == ("ACCEPTED", 1)
    assert len(items_of(items_resources, "ingest-redelivered")) == 1
    assert queue_depth(items_resources.endpoint, items_resources.ingest_queue_url) == 0


def test_a_second_upload_to_the_same_url_is_ignored(
    items_handler: Any, ingest_worker: Any, ingest_importer: Any, items_resources: ItemsResources
) -> None:
    claims = {"sub": "ingest-twice"}
    ticket = start(items_handler, claims=claims)
    upload(ticket, b'{"name": "first"}\n')
    run_import(items_resources, ingest_worker, ingest_importer)
    upload(ticket, b'{"name": "second"}\n{"name": "third"}\n')
    run_import(items_resources, ingest_worker, ingest_importer)
    job = status_of(items_handler, ticket["id"], claims)
    assert (job["status"], job["imported"]) == ("ACCEPTED", 1)
    assert [r["name"]["S"] for r in items_of(items_resources, "ingest-twice")] == ["first"]


def test_a_bad_message_in_a_batch_does_not_fail_the_others(
    items_handler: Any, ingest_worker: Any, ingest_importer: Any, items_resources: ItemsResources
) -> None:
    claims = {"sub": "ingest-batch"}
    tickets = [start(items_handler, claims=claims) for _ in range(2)]
    for n, ticket in enumerate(tickets):
        upload(ticket, json.dumps({"name": f"batch-{n}"}).encode())
    client("sqs", items_resources.endpoint).send_message(
        QueueUrl=items_resources.ingest_queue_url, MessageBody="not an event"
    )
    from items_runtime.wiring import worker as dependencies

    # The first upload's object cannot be read (S3 trouble): that message fails and is retried.
    broken = tickets[0]["id"]
    _failing_until_fixed(dependencies, "reader", lambda method, bucket, key, *a, **k: key.endswith(broken))
    sqs = client("sqs", items_resources.endpoint)
    messages = sqs.receive_message(
        QueueUrl=items_resources.ingest_queue_url, MaxNumberOfMessages=10, AttributeNames=["All"]
    )["Messages"]
    assert len(messages) == 3

    response = ingest_worker.lambda_handler(
        sqs_event(messages, "arn:aws:sqs:eu-west-1:123456789012:q"), FakeLambdaContext()
    )
    failed = [f["itemIdentifier"] for f in response["batchItemFailures"]]
    assert len(failed) == 1
    assert broken in next(m["Body"] for m in messages if m["MessageId"] == failed[0])
    states = {t["id"]: status_of(items_handler, t["id"], claims)["status"] for t in tickets}
    assert states == {broken: "VALIDATING", tickets[1]["id"]: "IMPORTING"}

    # The retry (SQS makes the message visible again) resumes the claimed job and finishes it.
    dependencies.use()
    for message in messages:
        if message["MessageId"] not in failed:
            sqs.delete_message(QueueUrl=items_resources.ingest_queue_url, ReceiptHandle=message["ReceiptHandle"])
        else:
            sqs.change_message_visibility(
                QueueUrl=items_resources.ingest_queue_url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0
            )
    run_import(items_resources, ingest_worker, ingest_importer)
    assert {t["id"]: status_of(items_handler, t["id"], claims)["status"] for t in tickets} == {
        t["id"]: "ACCEPTED" for t in tickets
    }


def test_the_import_paces_itself_to_the_smaller_of_the_tables_and_the_indexs_capacity(
    items_resources: ItemsResources, own_table: str
) -> None:
    dynamodb = client("dynamodb", items_resources.endpoint)
    dynamodb.update_table(
        TableName=own_table,
        ProvisionedThroughput={"ReadCapacityUnits": 5, "WriteCapacityUnits": 400},
        GlobalSecondaryIndexUpdates=[
            {
                "Update": {
                    "IndexName": items_resources.list_index_name,
                    "ProvisionedThroughput": {"ReadCapacityUnits": 5, "WriteCapacityUnits": 150},
                }
            }
        ],
    )
    assert DynamoDbWriteCapacity(dynamodb, own_table).units_per_second() == 150


def test_another_caller_cannot_see_an_upload(items_handler: Any) -> None:
    ticket = start(items_handler)
    assert (
        api(
            items_handler,
            "GET",
            f"/ingest/{ticket['id']}",
            resource="/ingest/{ingest_id}",
            path_parameters={"ingest_id": ticket["id"]},
            claims={"sub": "someone-else"},
        )[0]
        == 404
    )


def test_the_upload_url_is_signed_for_one_key_and_content_type(items_handler: Any) -> None:
    # S3 refuses a PUT whose Content-Type differs from the signed one; moto does not check signatures,
    # so this asserts what is signed rather than the refusal.
    ticket = start(items_handler, "csv")
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(ticket["upload"]["url"]).query)
    assert query["X-Amz-SignedHeaders"] == ["content-type;host"]
    assert query["X-Amz-Expires"] == ["900"]
    assert urllib.parse.urlsplit(ticket["upload"]["url"]).path.endswith(f"/uploads/{ticket['id']}")
