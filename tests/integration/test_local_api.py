"""The local API: real HTTP on 127.0.0.1 into the real handler over the emulated AWS; the post-deploy
tests (tests/e2e), the journey included, pass against it exactly as the pipeline runs them against a
deployed stage, and a journey whose step fails leaves nothing behind."""

import json
import re
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.conftest import REPO_ROOT
from tests.e2e.journey import MARKER
from tools.emulator import ItemsResources, client
from tools.local_api import make_server, start_worker

TOKEN = "local-test-token"  # noqa: S105 - the local stand-in for a Cognito token
Handler = Callable[[dict[str, Any], Any], dict[str, Any]]
NO_PLUGINS = ("-p", "no:cacheprovider", "-p", "no:tests.synth_fixtures")


@pytest.fixture
def serve(ingest_worker: Any, items_resources: ItemsResources) -> Iterator[Callable[[Handler], str]]:
    """Serves a handler as the local API does (with the worker polling the ingest queue); returns its URL."""
    stops: list[Callable[[], None]] = []

    def start(handler: Handler) -> str:
        server = make_server(handler, TOKEN)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        stop_worker = start_worker(
            items_resources.endpoint, items_resources.ingest_queue_url, ingest_worker.lambda_handler
        )
        stops.extend([stop_worker, server.shutdown, lambda: thread.join(timeout=10)])
        host, port = server.server_address[:2]
        return f"http://{host}:{port}/api/"

    yield start
    for stop in stops:
        stop()


@pytest.fixture
def local_api(items_handler: Any, serve: Callable[[Handler], str]) -> str:
    return serve(items_handler.lambda_handler)


def _post_deploy_tests(url: str, *selection: str, **environment: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        # As in the pipeline's smoke-test step, which installs no CDK: without the synthesis fixtures.
        [sys.executable, "-m", "pytest", *(selection or ("tests/e2e",)), "-q", *NO_PLUGINS],
        cwd=REPO_ROOT,
        env={"PATH": "/usr/bin:/bin", "API_URL": url, "API_TOKEN": TOKEN, **environment},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _journey_items(resources: ItemsResources) -> list[str]:
    """Names of the items in the emulated table that a journey created."""
    pages = client("dynamodb", resources.endpoint).get_paginator("scan").paginate(TableName=resources.table_name)
    return [
        record["name"]["S"]
        for page in pages
        for record in page["Items"]
        if record["pk"]["S"].startswith("ITEM#") and record["name"]["S"].startswith(MARKER)
    ]


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


def test_the_post_deploy_tests_pass_against_the_local_api_and_leave_nothing(
    local_api: str, items_resources: ItemsResources
) -> None:
    result = _post_deploy_tests(local_api)
    assert result.returncode == 0, result.stdout[-3000:]
    # Every smoke test and the whole journey; the API key check needs a stage's key.
    assert "12 passed, 1 skipped" in result.stdout, result.stdout[-3000:]
    assert _journey_items(items_resources) == []


def test_prod_runs_the_read_only_journey_and_one_marked_item(local_api: str, items_resources: ItemsResources) -> None:
    result = _post_deploy_tests(local_api, "tests/e2e/test_journey.py", DEPLOY_ENVIRONMENT="prod")
    assert result.returncode == 0, result.stdout[-3000:]
    assert "2 passed, 3 skipped" in result.stdout, result.stdout[-3000:]
    assert re.search(r"SKIPPED \[2\] .*: prod runs the read-only checks", result.stdout)  # the replace and the upload
    assert _journey_items(items_resources) == []


def test_a_journey_whose_step_fails_still_deletes_everything_it_created(
    items_handler: Any, serve: Callable[[Handler], str], items_resources: ItemsResources
) -> None:
    """A release whose item reads fail: every test that created something fails at the read, after it
    created items directly or through an upload, and the clean-up still deletes all of them."""
    created: set[str] = set()
    deleted: set[str] = set()

    def broken_reads(event: dict[str, Any], context: Any) -> dict[str, Any]:
        if (event["httpMethod"], event["resource"]) == ("GET", "/items/{item_id}"):
            return {"statusCode": 500, "headers": {"Content-Type": "application/json"}, "body": '{"message": "x"}'}
        response = items_handler.lambda_handler(event, context)
        if (event["httpMethod"], event["resource"], response["statusCode"]) == ("POST", "/items", 201):
            created.add(json.loads(response["body"])["id"])
        if (event["httpMethod"], response["statusCode"]) == ("DELETE", 204):
            deleted.add(event["pathParameters"]["item_id"])
        return response

    result = _post_deploy_tests(serve(broken_reads), "tests/e2e/test_journey.py")

    assert "3 failed, 1 passed, 1 skipped in" in result.stdout, result.stdout[-3000:]
    assert len(created) == 2  # one by the create-once test (and its retry), one by the replace test
    assert created < deleted
    assert len(deleted) == 4  # and the two the upload imported
    assert _journey_items(items_resources) == []


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
        if job["status"] not in ("PENDING", "VALIDATING"):
            break
        time.sleep(0.2)
    assert (job["status"], job["imported"]) == ("ACCEPTED", 1)
