"""The local API: real HTTP on 127.0.0.1 into the real handler over the emulated AWS; the post-deploy
smoke tests (tests/e2e) pass against it exactly as the pipeline runs them against a deployed stage."""

import json
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest

from tests.conftest import REPO_ROOT
from tools.emulator import ItemsResources, client
from tools.local_api import make_server, start_workers

TOKEN = "local-test-token"  # noqa: S105 - the local stand-in for a Cognito token


@pytest.fixture
def local_api(
    items_handler: Any, ingest_worker: Any, ingest_importer: Any, items_resources: ItemsResources
) -> Iterator[str]:
    # Room for the upload's import: dev's 2 write units a second pace even one record over two seconds.
    roomy = {"ReadCapacityUnits": 5, "WriteCapacityUnits": 1_000}
    client("dynamodb", items_resources.endpoint).update_table(
        TableName=items_resources.table_name,
        ProvisionedThroughput=roomy,
        GlobalSecondaryIndexUpdates=[
            {"Update": {"IndexName": items_resources.list_index_name, "ProvisionedThroughput": roomy}}
        ],
    )
    server = make_server(items_handler.lambda_handler, TOKEN)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    queues = (items_resources.ingest_queue_url, items_resources.import_queue_url)
    stop_worker = start_workers(
        items_resources.endpoint,
        [
            (queue, handler.lambda_handler, items_resources.batch_sizes[queue])
            for queue, handler in zip(queues, (ingest_worker, ingest_importer), strict=True)
        ],
    )
    host, port = server.server_address[:2]
    yield f"http://{host}:{port}/api/"
    stop_worker()
    server.shutdown()
    thread.join(timeout=10)


def _request(url: str, method: str = "GET", body: Any = None, token: str | None = TOKEN) -> tuple[int, Any]:
    headers = {"Content-Type": "application/json", **({"Authorization": f"Bearer {token}"} if token else {})}
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            raw = response.read()
            return response.status, json.loads(raw) if raw else None
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null")


def test_the_smoke_tests_pass_against_the_local_api(local_api: str) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "tests/e2e", "-q", "-p", "no:cacheprovider"],
        cwd=REPO_ROOT,
        env={"PATH": "/usr/bin:/bin", "API_URL": local_api},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-3000:]
    assert "8 passed" in result.stdout


def test_an_item_round_trips_over_http(local_api: str) -> None:
    status, created = _request(local_api + "items", "POST", {"name": "over http", "quantity": 1})
    assert status == 201
    assert _request(local_api + f"items/{created['id']}") == (200, created)


def test_without_the_local_token_the_api_answers_like_cognito(local_api: str) -> None:
    assert _request(local_api + "items", token=None) == (401, {"message": "Unauthorized"})
    assert _request(local_api + "items", token="forged") == (401, {"message": "Unauthorized"})
    assert _request(local_api + "health", token=None) == (200, {"status": "ok"})


def test_an_upload_is_imported_over_http(local_api: str) -> None:
    status, ticket = _request(local_api + "ingest", "POST", {"format": "csv"})
    assert status == 201
    upload = urllib.request.Request(
        ticket["upload"]["url"], data=b"name,quantity\nover http,3\n", method="PUT", headers=ticket["upload"]["headers"]
    )
    with urllib.request.urlopen(upload, timeout=10) as response:
        assert response.status == 200
    deadline = time.monotonic() + 20
    job: dict[str, Any] = {}
    while time.monotonic() < deadline:
        job = _request(local_api + f"ingest/{ticket['id']}")[1]
        if job["status"] not in ("PENDING", "VALIDATING", "IMPORTING"):
            break
        time.sleep(0.2)
    assert (job["status"], job["imported"]) == ("ACCEPTED", 1)
