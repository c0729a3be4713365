"""The whole ingest path on the emulated AWS built from the dev template: POST /ingest through the real
API handler, a PUT to the presigned URL, S3's EventBridge notification matched by the stack's rule
and delivered to the stack's queue, the worker handler invoked with that batch the way Lambda's SQS
event source would, and the outcome read back through GET /ingest/{id}."""

import json
import urllib.parse
import urllib.request
from typing import Any

import pytest

from tools.emulator import ItemsResources, client, poll_queue_once, sqs_event
from tools.events import FakeLambdaContext, rest_event

CALLER = {"sub": "ingest-user"}


def api(handler: Any, method: str, path: str, **kwargs: Any) -> tuple[int, Any]:
    kwargs.setdefault("claims", CALLER)
    response = handler.lambda_handler(rest_event(method, path, **kwargs), FakeLambdaContext())
    return response["statusCode"], json.loads(response["body"]) if response.get("body") else None


def start(handler: Any, upload_format: str = "jsonl") -> dict[str, Any]:
    status, ticket = api(handler, "POST", "/ingest", body={"format": upload_format})
    assert status == 201, ticket
    return ticket


def upload(ticket: dict[str, Any], data: bytes) -> int:
    request = urllib.request.Request(
        ticket["upload"]["url"], data=data, method="PUT", headers=ticket["upload"]["headers"]
    )
    with urllib.request.urlopen(request) as response:
        return int(response.status)


def status_of(handler: Any, ingest_id: str, claims: dict[str, str] = CALLER) -> tuple[int, Any]:
    return api(
        handler,
        "GET",
        f"/ingest/{ingest_id}",
        resource="/ingest/{ingest_id}",
        path_parameters={"ingest_id": ingest_id},
        claims=claims,
    )


def run_worker(resources: ItemsResources, worker: Any) -> int:
    handled = 0
    while count := poll_queue_once(
        resources.endpoint, resources.ingest_queue_url, worker.lambda_handler, FakeLambdaContext()
    ):
        handled += count
    return handled


def items_of(resources: ItemsResources, created_by: str) -> list[dict[str, Any]]:
    records = client("dynamodb", resources.endpoint).scan(TableName=resources.table_name)["Items"]
    return [r for r in records if r["pk"]["S"].startswith("ITEM#") and r.get("created_by", {}).get("S") == created_by]


def test_an_upload_is_validated_imported_and_reported(
    items_handler: Any, ingest_worker: Any, items_resources: ItemsResources
) -> None:
    claims = {"sub": "ingest-accepted"}
    status, ticket = api(items_handler, "POST", "/ingest", body={"format": "jsonl"}, claims=claims)
    assert status == 201
    assert ticket["status"] == "PENDING"
    assert status_of(items_handler, ticket["id"], claims)[1]["status"] == "PENDING"
    lines = [{"name": f"bulk-{n}", "quantity": n} for n in range(3)]
    assert upload(ticket, "\n".join(json.dumps(line) for line in lines).encode()) == 200

    assert run_worker(items_resources, ingest_worker) == 1
    status, job = status_of(items_handler, ticket["id"], claims)
    assert status == 200
    assert (job["status"], job["records"], job["imported"], job["errors"]) == ("ACCEPTED", 3, 3, [])
    imported = items_of(items_resources, "ingest-accepted")
    assert sorted(r["name"]["S"] for r in imported) == ["bulk-0", "bulk-1", "bulk-2"]
    # The imported items are ordinary items: the list route shows them.
    listed = api(items_handler, "GET", "/items", query={"limit": "100"}, claims=claims)[1]["items"]
    assert {"bulk-0", "bulk-1", "bulk-2"} <= {item["name"] for item in listed}


def test_a_csv_upload_is_imported(items_handler: Any, ingest_worker: Any, items_resources: ItemsResources) -> None:
    claims = {"sub": "ingest-csv"}
    _, ticket = api(items_handler, "POST", "/ingest", body={"format": "csv"}, claims=claims)
    assert ticket["upload"]["headers"] == {"Content-Type": "text/csv"}
    upload(ticket, b'name,quantity,description\r\nBolt,10,"M6, zinc"\r\nNut,20,\r\n')
    run_worker(items_resources, ingest_worker)
    job = status_of(items_handler, ticket["id"], claims)[1]
    assert (job["status"], job["imported"]) == ("ACCEPTED", 2)
    descriptions = {r["name"]["S"]: r["description"]["S"] for r in items_of(items_resources, "ingest-csv")}
    assert descriptions == {"Bolt": "M6, zinc", "Nut": ""}


def test_an_upload_breaking_the_schema_is_rejected_and_nothing_is_written(
    items_handler: Any, ingest_worker: Any, items_resources: ItemsResources
) -> None:
    claims = {"sub": "ingest-rejected"}
    _, ticket = api(items_handler, "POST", "/ingest", body={}, claims=claims)
    upload(ticket, b'{"name": "fine"}\n{"name": ""}\nnot json\n{"name": "also fine", "colour": "red"}\n')
    run_worker(items_resources, ingest_worker)
    job = status_of(items_handler, ticket["id"], claims)[1]
    assert job["status"] == "REJECTED"
    assert (job["records"], job["invalid_records"], job["imported"]) == (4, 3, 0)
    assert job["reason"] == "3 of 4 records are invalid; nothing was imported"
    assert [e["line"] for e in job["errors"]] == [2, 3, 4]
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
    items_handler: Any, ingest_worker: Any, items_resources: ItemsResources, data: bytes, reason: str
) -> None:
    ticket = start(items_handler)
    upload(ticket, data)
    run_worker(items_resources, ingest_worker)
    job = status_of(items_handler, ticket["id"])[1]
    assert job["status"] == "REJECTED"
    assert reason in job["reason"]


def test_a_redelivered_event_does_not_process_the_file_twice(
    items_handler: Any, ingest_worker: Any, items_resources: ItemsResources
) -> None:
    claims = {"sub": "ingest-redelivered"}
    _, ticket = api(items_handler, "POST", "/ingest", body={}, claims=claims)
    upload(ticket, b'{"name": "once"}\n')
    sqs = client("sqs", items_resources.endpoint)
    (message,) = sqs.receive_message(QueueUrl=items_resources.ingest_queue_url, MaxNumberOfMessages=10)["Messages"]
    # SQS delivers at least once: the same event arrives again after the first was handled.
    sqs.send_message(QueueUrl=items_resources.ingest_queue_url, MessageBody=message["Body"])
    sqs.change_message_visibility(
        QueueUrl=items_resources.ingest_queue_url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0
    )
    assert run_worker(items_resources, ingest_worker) == 2
    job = status_of(items_handler, ticket["id"], claims)[1]
    assert (job["status"], job["imported"]) == ("ACCEPTED", 1)
    assert len(items_of(items_resources, "ingest-redelivered")) == 1
    assert (
        int(
            sqs.get_queue_attributes(
                QueueUrl=items_resources.ingest_queue_url, AttributeNames=["ApproximateNumberOfMessages"]
            )["Attributes"]["ApproximateNumberOfMessages"]
        )
        == 0
    )


def test_a_second_upload_to_the_same_url_is_ignored(
    items_handler: Any, ingest_worker: Any, items_resources: ItemsResources
) -> None:
    claims = {"sub": "ingest-twice"}
    _, ticket = api(items_handler, "POST", "/ingest", body={}, claims=claims)
    upload(ticket, b'{"name": "first"}\n')
    run_worker(items_resources, ingest_worker)
    upload(ticket, b'{"name": "second"}\n{"name": "third"}\n')
    run_worker(items_resources, ingest_worker)
    job = status_of(items_handler, ticket["id"], claims)[1]
    assert (job["status"], job["imported"]) == ("ACCEPTED", 1)
    assert [r["name"]["S"] for r in items_of(items_resources, "ingest-twice")] == ["first"]


def test_a_bad_message_in_a_batch_does_not_fail_the_others(
    items_handler: Any, ingest_worker: Any, items_resources: ItemsResources, monkeypatch: pytest.MonkeyPatch
) -> None:
    claims = {"sub": "ingest-batch"}
    tickets = [api(items_handler, "POST", "/ingest", body={}, claims=claims)[1] for _ in range(2)]
    for n, ticket in enumerate(tickets):
        upload(ticket, json.dumps({"name": f"batch-{n}"}).encode())
    client("sqs", items_resources.endpoint).send_message(
        QueueUrl=items_resources.ingest_queue_url, MessageBody="not an event"
    )
    from items_runtime.wiring import worker as dependencies

    # The first upload's object cannot be read (S3 trouble): that message fails and is retried.
    reader = dependencies.reader()
    broken = tickets[0]["id"]

    class FlakyReader:
        def read(self, upload_ref: Any, max_bytes: int) -> bytes | None:
            if upload_ref.job_id == broken:
                raise ConnectionError("S3 is unreachable")
            return reader.read(upload_ref, max_bytes)

    dependencies.use(reader=FlakyReader())
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
    states = {t["id"]: status_of(items_handler, t["id"], claims)[1]["status"] for t in tickets}
    assert states == {broken: "VALIDATING", tickets[1]["id"]: "ACCEPTED"}

    # The retry (SQS makes the message visible again) resumes the claimed job and finishes it.
    dependencies.use()
    for message in messages:
        if message["MessageId"] not in failed:
            sqs.delete_message(QueueUrl=items_resources.ingest_queue_url, ReceiptHandle=message["ReceiptHandle"])
        else:
            sqs.change_message_visibility(
                QueueUrl=items_resources.ingest_queue_url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0
            )
    run_worker(items_resources, ingest_worker)
    assert status_of(items_handler, broken, claims)[1]["status"] == "ACCEPTED"


def test_another_caller_cannot_see_an_upload(items_handler: Any) -> None:
    ticket = start(items_handler)
    assert status_of(items_handler, ticket["id"], {"sub": "someone-else"})[0] == 404


def test_the_upload_url_is_signed_for_one_key_and_content_type(items_handler: Any) -> None:
    # S3 refuses a PUT whose Content-Type differs from the signed one; moto does not check signatures,
    # so this asserts what is signed rather than the refusal.
    ticket = start(items_handler, "csv")
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(ticket["upload"]["url"]).query)
    assert query["X-Amz-SignedHeaders"] == ["content-type;host"]
    assert query["X-Amz-Expires"] == ["900"]
    assert urllib.parse.urlsplit(ticket["upload"]["url"]).path.endswith(f"/uploads/{ticket['id']}")
