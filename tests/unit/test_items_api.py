"""The items API handler, driven with real API Gateway REST proxy events and an in-memory repository."""

import json
from collections.abc import Iterator
from typing import Any

import pytest

from items_api import handler
from tests.events import FakeLambdaContext, rest_event
from tests.unit.fakes import BrokenItemRepository, InMemoryItemRepository, ThrottledItemRepository

ITEM_RESOURCE = "/items/{item_id}"


@pytest.fixture
def repository() -> Iterator[InMemoryItemRepository]:
    fake = InMemoryItemRepository()
    handler.use_repository(fake)
    yield fake
    handler.use_repository(None)


def invoke(event: dict[str, Any]) -> tuple[int, dict[str, Any], dict[str, str]]:
    response = handler.lambda_handler(event, FakeLambdaContext())
    headers = {k: v[-1] for k, v in (response.get("multiValueHeaders") or {}).items()}
    headers.update(response.get("headers") or {})
    body = json.loads(response["body"]) if response.get("body") else {}
    return response["statusCode"], body, headers


def create(body: Any) -> tuple[int, dict[str, Any], dict[str, str]]:
    return invoke(rest_event("POST", "/items", body=body, claims={"sub": "user-1"}))


def get(item_id: str) -> tuple[int, dict[str, Any], dict[str, str]]:
    return invoke(
        rest_event(
            "GET",
            f"/items/{item_id}",
            resource=ITEM_RESOURCE,
            path_parameters={"item_id": item_id},
            claims={"sub": "u"},
        )
    )


def test_health_answers_ok(repository: InMemoryItemRepository) -> None:
    status, body, headers = invoke(rest_event("GET", "/health"))
    assert (status, body) == (200, {"status": "ok"})
    assert headers["Content-Type"] == "application/json"


def test_create_returns_201_with_the_item_and_its_location(repository: InMemoryItemRepository) -> None:
    status, body, headers = create({"name": "  Widget ", "description": "blue", "quantity": 3})
    assert status == 201
    assert body["name"] == "Widget"
    assert body["quantity"] == 3
    assert len(body["id"]) == 32
    assert body["created_at"] == body["updated_at"]
    assert headers["Location"] == f"/items/{body['id']}"
    assert repository.items[body["id"]].name == "Widget"


def test_created_item_can_be_read_back(repository: InMemoryItemRepository) -> None:
    _, created, _ = create({"name": "Widget"})
    status, body, _ = get(created["id"])
    assert status == 200
    assert body == created


def test_missing_item_is_404_with_a_message(repository: InMemoryItemRepository) -> None:
    status, body, _ = get("0" * 32)
    assert status == 404
    assert body == {"message": f"item {'0' * 32} not found"}


def test_malformed_path_id_is_rejected_before_any_lookup(repository: InMemoryItemRepository) -> None:
    status, body, _ = get("not-an-id")
    assert status == 422
    assert body["errors"][0]["location"] == "path.item_id"


def test_malformed_json_is_400(repository: InMemoryItemRepository) -> None:
    status, body, _ = invoke(rest_event("POST", "/items", raw_body='{"name": "x",'))
    assert status == 400
    assert body["message"] == "request body is not valid JSON"
    assert not repository.items


@pytest.mark.parametrize(
    ("payload", "location"),
    [
        ({"name": "x", "quantity": "3"}, "body.quantity"),
        ({"name": "x", "quantity": 1.5}, "body.quantity"),
        ({"name": "x", "quantity": -1}, "body.quantity"),
        ({"name": 7}, "body.name"),
        ({"name": "   "}, "body.name"),
        ({"name": "x" * 201}, "body.name"),
        ({"description": "no name"}, "body.name"),
        ({"name": "x", "colour": "red"}, "body.colour"),
    ],
    ids=[
        "quantity-as-text",
        "quantity-float",
        "quantity-negative",
        "name-number",
        "name-blank",
        "name-too-long",
        "name-missing",
        "unknown-field",
    ],
)
def test_invalid_bodies_are_422_naming_the_field(
    repository: InMemoryItemRepository, payload: Any, location: str
) -> None:
    status, body, _ = create(payload)
    assert status == 422
    assert body["message"] == "request validation failed"
    assert location in [error["location"] for error in body["errors"]]
    assert not repository.items


@pytest.mark.parametrize("raw_body", ["[]", '"text"', "null", "", "42"])
def test_body_that_is_not_an_object_is_4xx(repository: InMemoryItemRepository, raw_body: str) -> None:
    status, body, _ = invoke(rest_event("POST", "/items", raw_body=raw_body))
    assert 400 <= status < 500
    assert body["message"]


def test_oversized_body_is_413_and_not_parsed(repository: InMemoryItemRepository) -> None:
    status, body, _ = invoke(
        rest_event("POST", "/items", raw_body=json.dumps({"name": "x" * (handler.MAX_BODY_BYTES + 1)}))
    )
    assert status == 413
    assert "exceeds" in body["message"]
    assert not repository.items


def test_unknown_route_is_404_json(repository: InMemoryItemRepository) -> None:
    status, body, _ = invoke(rest_event("GET", "/nothing-here"))
    assert (status, body) == (404, {"message": "no such route"})


def test_list_returns_newest_first_in_pages(repository: InMemoryItemRepository) -> None:
    for name in ("a", "b", "c"):
        create({"name": name})
    status, first, _ = invoke(rest_event("GET", "/items", query={"limit": "2"}))
    assert status == 200
    assert len(first["items"]) == 2
    assert first["next_token"]
    _, second, _ = invoke(rest_event("GET", "/items", query={"limit": "2", "next_token": first["next_token"]}))
    assert len(second["items"]) == 1
    assert second["next_token"] is None


@pytest.mark.parametrize("limit", ["0", "101", "ten"])
def test_list_rejects_a_bad_limit(repository: InMemoryItemRepository, limit: str) -> None:
    status, body, _ = invoke(rest_event("GET", "/items", query={"limit": limit}))
    assert status == 422
    assert body["errors"][0]["location"] == "query.limit"


def test_throttled_table_is_503_with_retry_after() -> None:
    handler.use_repository(ThrottledItemRepository())
    try:
        status, body, headers = create({"name": "x"})
    finally:
        handler.use_repository(None)
    assert status == 503
    assert headers["Retry-After"] == "1"
    assert body == {"message": "the service is busy, retry later"}


def test_unexpected_error_is_a_generic_500_without_internals() -> None:
    handler.use_repository(BrokenItemRepository())
    try:
        status, body, _ = get("0" * 32)
    finally:
        handler.use_repository(None)
    assert status == 500
    assert body == {"message": "internal error"}


def test_cors_headers_echo_an_allowed_origin(repository: InMemoryItemRepository) -> None:
    _, _, headers = invoke(rest_event("GET", "/health", headers={"Origin": "http://localhost:3000"}))
    assert headers["Access-Control-Allow-Origin"] == "http://localhost:3000"


def test_cors_headers_are_absent_for_other_origins(repository: InMemoryItemRepository) -> None:
    _, _, headers = invoke(rest_event("GET", "/health", headers={"Origin": "https://evil.example.net"}))
    assert "Access-Control-Allow-Origin" not in headers
