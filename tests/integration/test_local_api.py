"""The local API: real HTTP on 127.0.0.1 into the real handler over the emulated AWS; the post-deploy
tests (tests/e2e), the journey included, pass against it exactly as the pipeline runs them against a
deployed stage, and a journey whose step fails leaves nothing behind."""

import http.client
import json
import re
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from typing import Any

import pytest

from tests.conftest import REPO_ROOT
from tests.e2e.journey import MARKER
from tests.integration.conftest import API_KEY, TOKEN, Handler
from tools.emulator import ItemsResources, client

CREDENTIALS = {"Authorization": f"Bearer {TOKEN}", "X-Api-Key": API_KEY}
NO_PLUGINS = ("-p", "no:cacheprovider", "-p", "no:tests.synth_fixtures")


def _post_deploy_tests(url: str, *selection: str, **environment: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        # As in the pipeline's smoke-test step, which installs no CDK: without the synthesis fixtures.
        [sys.executable, "-m", "pytest", *(selection or ("tests/e2e",)), "-q", *NO_PLUGINS],
        cwd=REPO_ROOT,
        env={"PATH": "/usr/bin:/bin", "API_URL": url, "API_TOKEN": TOKEN, "API_KEY": API_KEY, **environment},
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
    headers = {"Content-Type": "application/json", "X-Api-Key": API_KEY}
    if token:
        headers["Authorization"] = f"Bearer {token}"
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
    # Every smoke test and the whole journey, the API key check included (the local API has a key).
    assert "13 passed in" in result.stdout, result.stdout[-3000:]
    assert _journey_items(items_resources) == []


def test_prod_runs_the_read_only_journey_and_one_marked_item(local_api: str, items_resources: ItemsResources) -> None:
    result = _post_deploy_tests(local_api, "tests/e2e/test_journey.py", DEPLOY_ENVIRONMENT="prod")
    assert result.returncode == 0, result.stdout[-3000:]
    assert "3 passed, 2 skipped" in result.stdout, result.stdout[-3000:]
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

    assert "3 failed, 2 passed in" in result.stdout, result.stdout[-3000:]
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
        if job["status"] not in ("PENDING", "VALIDATING", "IMPORTING"):
            break
        time.sleep(0.2)
    assert (job["status"], job["imported"]) == ("ACCEPTED", 1)


# --- what API Gateway answers before the function runs, answered the same way locally -------------------


def _raw(
    local_api: str, method: str, path: str, headers: dict[str, str] | None = None, body: bytes | None = None
) -> tuple[int, dict[str, str], bytes]:
    address = local_api.removeprefix("http://").split("/")[0]
    connection = http.client.HTTPConnection(address, timeout=10)
    try:
        connection.request(method, "/api" + path, body=body, headers=headers or {})
        response = connection.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        connection.close()


@pytest.mark.parametrize("method", ["TRACE", "PATCH", "FOO"])
def test_a_method_the_resource_does_not_define_is_403_missing_authentication_token(local_api: str, method: str) -> None:
    status, headers, body = _raw(local_api, method, "/health")
    assert (status, json.loads(body)) == (403, {"message": "Missing Authentication Token"})
    assert headers["content-type"] == "application/json"


def test_head_is_a_method_no_resource_defines(local_api: str) -> None:
    status, _, body = _raw(local_api, "HEAD", "/health")
    assert (status, body) == (403, b"")


def test_a_cors_preflight_is_answered_by_the_gateway_without_a_token(local_api: str) -> None:
    status, headers, body = _raw(
        local_api, "OPTIONS", "/items", {"Origin": "http://localhost:3000", "Access-Control-Request-Method": "POST"}
    )
    assert (status, body) == (204, b"")
    assert headers["access-control-allow-origin"] == "http://localhost:3000"
    assert "POST" in headers["access-control-allow-methods"].split(",")
    assert "Idempotency-Key" in headers["access-control-allow-headers"].split(",")


def test_headers_beyond_api_gateways_limit_are_refused(local_api: str) -> None:
    status, _, body = _raw(local_api, "GET", "/health", {"X-Padding": "x" * 60_000})
    assert (status, json.loads(body)) == (431, {"message": "Request Header Fields Too Large"})


def test_without_the_api_key_a_protected_route_is_403_forbidden(local_api: str) -> None:
    status, _, body = _raw(local_api, "GET", "/items", {"Authorization": f"Bearer {TOKEN}"})
    assert (status, json.loads(body)) == (403, {"message": "Forbidden"})


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("application/json", b'{"name": 7}'),
        ("application/json", b"[" * 20_000 + b"]" * 20_000),
        ("application/json-patch+json", b'{"name": "x", "quantity": ' + b"9" * 5000 + b"}"),
        ("application/x-www-form-urlencoded", b"name=x"),
    ],
    ids=["wrong-type", "deep", "huge-number-as-json-patch", "form"],
)
def test_a_body_the_request_model_refuses_is_400_invalid_request_body_whatever_its_content_type(
    local_api: str, content_type: str, body: bytes
) -> None:
    status, _, answer = _raw(local_api, "POST", "/items", {**CREDENTIALS, "Content-Type": content_type}, body)
    assert (status, json.loads(answer)) == (400, {"message": "Invalid request body"})


def test_a_valid_body_sent_as_another_content_type_is_415_from_the_function(local_api: str) -> None:
    status, _, answer = _raw(
        local_api, "POST", "/items", {**CREDENTIALS, "Content-Type": "text/plain"}, b'{"name": "x"}'
    )
    assert status == 415
    assert json.loads(answer)["message"].endswith("send the request body as application/json")


def test_a_repeated_query_parameter_reaches_the_function_with_every_value(local_api: str) -> None:
    status, _, answer = _raw(local_api, "GET", "/items?limit=5&limit=7", CREDENTIALS)
    assert (status, json.loads(answer)) == (400, {"message": "query parameter 'limit' is given 2 times: give it once"})
