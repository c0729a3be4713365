"""The events the ingest worker's and the importer's cold starts serve, made the way production makes
them: `python -m tools.bench.cold_start.uploads <out.json> <count>` (in the environment of the items
functions, pointed at the emulator) starts `count` uploads through the real API handler and PUTs a file
to each presigned URL, so the ingest queue holds their S3 "Object Created" events; it keeps those for
the worker's cold starts, then starts `count` more and runs the real worker on them, so the import
queue holds their chunks, and keeps those for the importer's. Each cold start gets an event of its own:
an upload once validated, or a chunk once counted, is not handled again."""

import json
import os
import sys
import urllib.request
from typing import Any

from tools.emulator import client, sqs_event
from tools.events import FakeLambdaContext, rest_event
from tools.lambda_assets import make_importable

RECORDS = 25  # one batch write: the importer's cold start is not a test of pacing
CALLER = {"sub": "bench-user"}


def _file() -> bytes:
    return b"".join(
        json.dumps({"name": f"bench item {n}", "description": "cold start", "quantity": n}).encode() + b"\n"
        for n in range(RECORDS)
    )


def _upload(api: Any) -> None:
    event = rest_event("POST", "/ingest", body={"format": "jsonl"}, claims=CALLER)
    response = api.lambda_handler(event, FakeLambdaContext())
    if response["statusCode"] != 201:
        raise SystemExit(f"POST /ingest answered {response['statusCode']}: {response.get('body')}")
    ticket = json.loads(response["body"])
    url = ticket["upload"]["url"]
    if not url.startswith("http://127.0.0.1:"):
        raise SystemExit(f"the presigned URL does not point at the emulator: {url}")
    request = urllib.request.Request(url, data=_file(), method="PUT", headers=ticket["upload"]["headers"])  # noqa: S310
    with urllib.request.urlopen(request) as answer:  # noqa: S310 - the emulator, checked above
        if answer.status != 200:
            raise SystemExit(f"the upload's PUT answered {answer.status}")


def _one_by_one(queue_url: str, count: int) -> list[dict[str, Any]]:
    """`count` events of one message each, taken off the queue (nothing else consumes them)."""
    sqs = client("sqs", os.environ["AWS_ENDPOINT_URL"])
    arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events: list[dict[str, Any]] = []
    while len(events) < count:
        messages = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=1, AttributeNames=["All"])
        for message in messages.get("Messages", []):
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
            message["Attributes"]["ApproximateReceiveCount"] = "1"
            events.append(sqs_event([message], arn))
        if not messages.get("Messages"):
            raise SystemExit(f"{queue_url} holds {len(events)} of the {count} messages expected")
    return events


def main(out: str, count: int, ingest_queue_url: str, import_queue_url: str) -> None:
    make_importable()
    from items_runtime import api, worker

    for _ in range(count):
        _upload(api)
    worker_events = _one_by_one(ingest_queue_url, count)
    for _ in range(count):
        _upload(api)
    for event in _one_by_one(ingest_queue_url, count):
        answer = worker.lambda_handler(event, FakeLambdaContext())
        if answer.get("batchItemFailures"):
            raise SystemExit(f"the worker failed an upload: {answer}")
    importer_events = _one_by_one(import_queue_url, count)
    with open(out, "w", encoding="utf-8") as file:
        json.dump({"worker": worker_events, "importer": importer_events}, file)


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4])
