"""The items API handler, driven with real API Gateway REST proxy events and in-memory collaborators."""

import json
from collections.abc import Iterator
from typing import Any

import pytest

from items_runtime import api as handler
from items_runtime.logic.page_tokens import PageTokenSigner
from items_runtime.settings import api_settings
from items_runtime.wiring import api as dependencies
from tests.unit.fakes import (
    BrokenItemRepository,
    InMemoryIdempotencyStore,
    InMemoryItemRepository,
    ThrottledItemRepository,
)
from tools.events import FakeLambdaContext, rest_event

ITEM_RESOURCE = "/items/{item_id}"
CALLER = {"sub": "5f0e7a4e-1111-4c4c-9c9c-000000000001", "email": "ada@example.com"}


class World:
    def __init__(self) -> None:
        self.repository = InMemoryItemRepository()
        self.idempotency = InMemoryIdempotencyStore()
        self.signer = PageTokenSigner(b"k" * 32)


@pytest.fixture
def world() -> Iterator[World]:
    state = World()
    api_settings.cache_clear()  # read once per cold start: each test is one
    dependencies.use(repository=state.repository, signer=state.signer, idempotency_store=state.idempotency)
    yield state
    dependencies.use()
    api_settings.cache_clear()


def invoke(event: dict[str, Any]) -> tuple[int, Any, dict[str, str]]:
    response = handler.lambda_handler(event, FakeLambdaContext())
    headers = {k: v[-1] for k, v in (response.get("multiValueHeaders") or {}).items()}
    headers.update(response.get("headers") or {})
    body = json.loads(response["body"]) if response.get("body") else None
    return response["statusCode"], body, headers


def create(body: Any, headers: dict[str, str] | None = None) -> tuple[int, Any, dict[str, str]]:
    return invoke(rest_event("POST", "/items", body=body, claims=CALLER, headers=headers))


def on_item(
    method: str, item_id: str, body: Any = None, claims: dict[str, str] | None = CALLER
) -> tuple[int, Any, dict[str, str]]:
    return invoke(
        rest_event(
            method,
            f"/items/{item_id}",
            resource=ITEM_RESOURCE,
            path_parameters={"item_id": item_id},
            body=body,
            claims=claims,
        )
    )


def test_health_answers_ok_without_a_token(world: World) -> None:
    status, body, headers = invoke(rest_event("GET", "/health"))
    assert (status, body) == (200, {"status": "ok"})
    assert headers["Content-Type"] == "application/json"


def test_create_returns_201_with_the_item_and_its_location(world: World) -> None:
    status, body, headers = create({"name": "  Widget ", "description": "blue", "quantity": 3})
    assert status == 201
    assert body["name"] == "Widget"
    assert body["quantity"] == 3
    assert len(body["id"]) == 32
    assert body["created_at"] == body["updated_at"]
    assert body["created_by"] == CALLER["sub"]
    assert headers["Location"] == f"/items/{body['id']}"
    assert world.repository.items[body["id"]].name == "Widget"


def test_a_machine_clients_access_token_names_the_creator_by_its_client_id(world: World) -> None:
    machine = {"client_id": "3kq1example0client0id", "token_use": "access", "scope": "items/read items/write"}
    status, body, _ = invoke(rest_event("POST", "/items", body={"name": "Widget"}, claims=machine))
    assert (status, body["created_by"]) == (201, machine["client_id"])


def test_created_item_can_be_read_back(world: World) -> None:
    _, created, _ = create({"name": "Widget"})
    status, body, _ = on_item("GET", created["id"])
    assert status == 200
    assert body == created


def test_replace_overwrites_fields_and_keeps_identity(world: World) -> None:
    _, created, _ = create({"name": "Widget", "quantity": 1})
    status, body, _ = on_item("PUT", created["id"], {"name": "Gadget", "quantity": 5})
    assert status == 200
    assert (body["id"], body["name"], body["quantity"]) == (created["id"], "Gadget", 5)
    assert body["created_at"] == created["created_at"]
    assert body["updated_at"] >= created["updated_at"]
    assert world.repository.items[created["id"]].name == "Gadget"


def test_replace_of_a_missing_item_is_404_and_creates_nothing(world: World) -> None:
    status, body, _ = on_item("PUT", "0" * 32, {"name": "Ghost"})
    assert status == 404
    assert body == {"message": f"item {'0' * 32} not found"}
    assert not world.repository.items


def test_delete_removes_the_item(world: World) -> None:
    _, created, _ = create({"name": "Widget"})
    status, body, _ = on_item("DELETE", created["id"])
    assert (status, body) == (204, None)
    assert on_item("GET", created["id"])[0] == 404


def test_delete_of_a_missing_item_is_404(world: World) -> None:
    assert on_item("DELETE", "0" * 32)[0] == 404


def test_missing_item_is_404_with_a_message(world: World) -> None:
    status, body, _ = on_item("GET", "0" * 32)
    assert (status, body) == (404, {"message": f"item {'0' * 32} not found"})


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE"])
def test_malformed_path_id_is_rejected_before_any_lookup(world: World, method: str) -> None:
    status, body, _ = on_item(method, "not-an-id", {"name": "x"} if method == "PUT" else None)
    assert status == 422
    assert "path.item_id" in [e["location"] for e in body["errors"]]


@pytest.mark.parametrize(
    ("method", "path", "resource"),
    [
        ("GET", "/items", "/items"),
        ("POST", "/items", "/items"),
        ("GET", f"/items/{'a' * 32}", ITEM_RESOURCE),
        ("PUT", f"/items/{'a' * 32}", ITEM_RESOURCE),
        ("DELETE", f"/items/{'a' * 32}", ITEM_RESOURCE),
    ],
)
def test_items_routes_refuse_requests_without_a_verified_identity(
    world: World, method: str, path: str, resource: str
) -> None:
    path_parameters = {"item_id": "a" * 32} if resource == ITEM_RESOURCE else None
    body = {"name": "x"} if method in ("POST", "PUT") else None
    for claims in (None, {}, {"email": "no-subject@example.com"}):
        status, response, _ = invoke(
            rest_event(method, path, resource=resource, path_parameters=path_parameters, body=body, claims=claims)
        )
        assert status == 401
        assert response == {"message": "a valid Cognito token is required"}
    assert not world.repository.items


def test_malformed_json_is_400(world: World) -> None:
    status, body, _ = invoke(rest_event("POST", "/items", raw_body='{"name": "x",', claims=CALLER))
    assert status == 400
    assert body["message"].startswith("request body is not valid JSON")
    assert not world.repository.items


@pytest.mark.parametrize(
    ("payload", "location"),
    [
        ({"name": "x", "quantity": "3"}, "body.quantity"),
        ({"name": "x", "quantity": 1.5}, "body.quantity"),
        ({"name": "x", "quantity": -1}, "body.quantity"),
        ({"name": "x", "quantity": 1_000_001}, "body.quantity"),
        ({"name": 7}, "body.name"),
        ({"name": "   "}, "body.name"),
        ({"name": "x" * 201}, "body.name"),
        ({"name": "x", "description": "d" * 2001}, "body.description"),
        ({"description": "no name"}, "body.name"),
        ({"name": "x", "colour": "red"}, "body.colour"),
        ({"name": "x", "quantity": 117.5}, "body.quantity"),
        ({"name": "x", "quantity": True}, "body.quantity"),
        ({"name": "\u200b\u2060\ufeff"}, "body.name"),
        ({"name": "\u3164"}, "body.name"),
        ({"name": "nul\u0000inside"}, "body.name"),
        ({"name": "bell\u0007"}, "body.name"),
        ({"name": "line\nbreak"}, "body.name"),
        ({"name": "lone \ud800 surrogate"}, "body.name"),
        ({"name": "  " + "x" * 199}, "body.name"),
        ({"name": "x", "description": "escape\u001b[31m"}, "body.description"),
        ({"name": "x", "description": "\u200b \u00a0"}, "body.description"),
    ],
    ids=[
        "quantity-text",
        "quantity-float",
        "quantity-negative",
        "quantity-huge",
        "name-number",
        "name-blank",
        "name-too-long",
        "description-too-long",
        "name-missing",
        "unknown-field",
        "quantity-with-a-fraction",
        "quantity-boolean",
        "name-of-invisible-characters",
        "name-of-a-hangul-filler",
        "name-holding-nul",
        "name-holding-a-control-character",
        "name-holding-a-line-break",
        "name-holding-a-lone-surrogate",
        "name-too-long-before-trimming",
        "description-holding-an-escape-sequence",
        "description-of-invisible-characters",
    ],
)
def test_invalid_bodies_are_422_naming_the_field(world: World, payload: Any, location: str) -> None:
    status, body, _ = create(payload)
    assert status == 422
    assert body["message"] == "request validation failed"
    assert location in [error["location"] for error in body["errors"]]
    assert not world.repository.items


@pytest.mark.parametrize("raw_body", ["[]", '"text"', "null", "", "42"])
def test_body_that_is_not_an_object_is_4xx(world: World, raw_body: str) -> None:
    status, body, _ = invoke(rest_event("POST", "/items", raw_body=raw_body, claims=CALLER))
    assert 400 <= status < 500
    assert body["message"]


def test_oversized_body_is_413_and_not_parsed(world: World) -> None:
    status, body, _ = create({"name": "x" * (handler.MAX_BODY_BYTES + 1)})
    assert status == 413
    assert "exceeds" in body["message"]
    assert not world.repository.items


def test_unknown_route_is_404_json(world: World) -> None:
    assert invoke(rest_event("GET", "/nothing-here"))[:2] == (404, {"message": "no such route"})


def test_list_returns_newest_first_in_signed_pages(world: World) -> None:
    for name in ("a", "b", "c"):
        create({"name": name})
    status, first, _ = invoke(rest_event("GET", "/items", query={"limit": "2"}, claims=CALLER))
    assert status == 200
    assert len(first["items"]) == 2
    assert first["next_token"]
    _, second, _ = invoke(
        rest_event("GET", "/items", query={"limit": "2", "next_token": first["next_token"]}, claims=CALLER)
    )
    assert len(second["items"]) == 1
    assert second["next_token"] is None
    assert {i["id"] for i in first["items"] + second["items"]} == set(world.repository.items)


def test_a_forged_page_token_is_400(world: World) -> None:
    forged = PageTokenSigner(b"x" * 32).encode(
        {"pk": {"S": "ITEM#1"}, "sk": {"S": "ITEM"}, "gsi1pk": {"S": "ITEM"}, "gsi1sk": {"S": "1"}}
    )
    status, body, _ = invoke(rest_event("GET", "/items", query={"next_token": forged}, claims=CALLER))
    assert (status, body) == (400, {"message": "next_token is not a token this API issued"})


@pytest.mark.parametrize("limit", ["0", "101", "ten"])
def test_list_rejects_a_bad_limit(world: World, limit: str) -> None:
    status, body, _ = invoke(rest_event("GET", "/items", query={"limit": limit}, claims=CALLER))
    assert status == 422
    assert body["errors"][0]["location"] == "query.limit"


def test_retried_create_with_the_same_idempotency_key_creates_one_item(world: World) -> None:
    key = {"Idempotency-Key": "order-2026-11-22-0001"}
    first = create({"name": "Widget", "quantity": 1}, headers=key)
    second = create({"name": "Widget", "quantity": 1}, headers=key)
    assert first[0] == second[0] == 201
    assert first[1] == second[1]
    assert len(world.repository.items) == 1


def test_idempotency_key_is_matched_case_insensitively(world: World) -> None:
    create({"name": "Widget"}, headers={"idempotency-key": "order-0000000002"})
    create({"name": "Widget"}, headers={"IDEMPOTENCY-KEY": "order-0000000002"})
    assert len(world.repository.items) == 1


def test_reusing_an_idempotency_key_with_another_body_is_422(world: World) -> None:
    key = {"Idempotency-Key": "order-0000000003"}
    create({"name": "Widget"}, headers=key)
    status, body, _ = create({"name": "Gadget"}, headers=key)
    assert status == 422
    assert "different request body" in body["message"]
    assert len(world.repository.items) == 1


def test_the_same_key_from_two_callers_creates_two_items(world: World) -> None:
    key = {"Idempotency-Key": "shared-key-0001"}
    create({"name": "Widget"}, headers=key)
    invoke(rest_event("POST", "/items", body={"name": "Widget"}, headers=key, claims={"sub": "another-caller"}))
    assert len(world.repository.items) == 2


def test_creates_without_a_key_are_not_deduplicated(world: World) -> None:
    create({"name": "Widget"})
    create({"name": "Widget"})
    assert len(world.repository.items) == 2


@pytest.mark.parametrize("key", ["short", "has spaces in it", "x" * 129, "ümlaut-key-0001"])
def test_malformed_idempotency_key_is_422_naming_the_header(world: World, key: str) -> None:
    status, body, _ = create({"name": "Widget"}, headers={"Idempotency-Key": key})
    assert status == 422
    assert [e["location"] for e in body["errors"]] == ["header.idempotency-key"]
    assert not world.repository.items


def test_throttled_table_is_503_with_retry_after_and_writes_nothing() -> None:
    throttled = ThrottledItemRepository()
    dependencies.use(
        repository=throttled, signer=PageTokenSigner(b"k" * 32), idempotency_store=InMemoryIdempotencyStore()
    )
    try:
        status, body, headers = create({"name": "x"})
    finally:
        dependencies.use()
    assert status == 503
    assert headers["Retry-After"] == "1"
    assert body == {"message": "the service is busy, retry later"}
    assert not throttled.items


def test_a_throttled_create_can_be_retried_with_the_same_key(world: World) -> None:
    key = {"Idempotency-Key": "retry-after-throttle-1"}
    dependencies.use(repository=ThrottledItemRepository(), signer=world.signer, idempotency_store=world.idempotency)
    assert create({"name": "Widget"}, headers=key)[0] == 503
    dependencies.use(repository=world.repository, signer=world.signer, idempotency_store=world.idempotency)
    status, body, _ = create({"name": "Widget"}, headers=key)
    assert status == 201
    assert list(world.repository.items) == [body["id"]]


def test_unexpected_error_is_a_generic_500_without_internals() -> None:
    dependencies.use(repository=BrokenItemRepository())
    try:
        status, body, _ = on_item("GET", "0" * 32)
    finally:
        dependencies.use()
    assert status == 500
    assert body == {"message": "internal error"}


def test_cors_headers_echo_an_allowed_origin(world: World) -> None:
    _, _, headers = invoke(rest_event("GET", "/health", headers={"Origin": "http://localhost:3000"}))
    assert headers["Access-Control-Allow-Origin"] == "http://localhost:3000"


def test_cors_headers_are_absent_for_other_origins(world: World) -> None:
    _, _, headers = invoke(rest_event("GET", "/health", headers={"Origin": "https://evil.example.net"}))
    assert "Access-Control-Allow-Origin" not in headers


def test_health_fails_while_the_rollback_drill_is_switched_on(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SIMULATE_FAILURE", "true")
    api_settings.cache_clear()
    status, body, _ = invoke(rest_event("GET", "/health"))
    assert status == 503
    assert body == {"status": "failing", "message": "SIMULATE_FAILURE is set"}


@pytest.mark.parametrize("content_type", ["0", "text/plain"])
def test_a_bodiless_request_with_a_non_json_content_type_is_415(world: World, content_type: str) -> None:
    # Found by the fuzzer: Powertools refuses the content type before the route runs.
    status, body, _ = invoke(rest_event("POST", "/items", headers={"Content-Type": content_type}))
    assert status == 415
    assert body["message"].endswith("send the request body as application/json")
    assert not world.repository.items


# --- hostile input: whatever API Gateway can deliver gets a 4xx JSON message, never a 5xx ----------

BODY_ROUTES = [
    ("POST", "/items", "/items", None),
    ("PUT", f"/items/{'a' * 32}", ITEM_RESOURCE, {"item_id": "a" * 32}),
    ("POST", "/ingest", "/ingest", None),
]


def _send(
    method: str, path: str, resource: str, path_parameters: dict[str, str] | None, raw_body: str, content_type: str
) -> tuple[int, Any, dict[str, str]]:
    event = rest_event(
        method, path, resource=resource, path_parameters=path_parameters, raw_body=raw_body, claims=CALLER
    )
    for field in ("headers", "multiValueHeaders"):
        event[field].pop("Content-Type", None)
    if content_type:
        event["headers"]["Content-Type"] = content_type
        event["multiValueHeaders"]["Content-Type"] = [content_type]
    return invoke(event)


@pytest.mark.parametrize(("method", "path", "resource", "path_parameters"), BODY_ROUTES)
def test_a_body_nested_twenty_thousand_levels_deep_is_400(
    world: World, method: str, path: str, resource: str, path_parameters: dict[str, str] | None
) -> None:
    deep = "[" * 20_000 + "]" * 20_000  # 40 KB, under the 64 KiB limit
    status, body, _ = _send(method, path, resource, path_parameters, deep, "application/json")
    assert status == 400
    assert body["message"] == "request body is not valid JSON: nested deeper than 32 levels"
    assert not world.repository.items


@pytest.mark.parametrize(("method", "path", "resource", "path_parameters"), BODY_ROUTES)
def test_an_integer_of_five_thousand_digits_is_400(
    world: World, method: str, path: str, resource: str, path_parameters: dict[str, str] | None
) -> None:
    huge = '{"name": "x", "quantity": ' + "9" * 5000 + "}"
    status, body, _ = _send(method, path, resource, path_parameters, huge, "application/json")
    assert status == 400
    assert body["message"] == "request body is not valid JSON: a number longer than 64 digits"


def test_a_body_of_many_unterminated_quotes_is_refused_quickly(world: World) -> None:
    # One pass over the text: a pattern that rescans from every quote would take minutes here.
    status = _send("POST", "/items", "/items", None, '"' + '\\"' * 20_000, "application/json")[0]
    assert status == 400


def test_a_key_given_twice_is_400_naming_it(world: World) -> None:
    status, body, _ = _send("POST", "/items", "/items", None, '{"name": "a", "name": "b"}', "application/json")
    assert status == 400
    assert body["message"] == "request body is not valid JSON: the key 'name' appears twice in one object"
    assert not world.repository.items


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
def test_non_json_number_constants_are_400(world: World, constant: str) -> None:
    raw = '{"name": "x", "quantity": ' + constant + "}"
    status, body, _ = _send("POST", "/items", "/items", None, raw, "application/json")
    assert status == 400
    assert body["message"] == f"request body is not valid JSON: {constant} is not a JSON value"


@pytest.mark.parametrize(
    "content_type",
    ["application/json", "APPLICATION/JSON", "Application/Json; charset=UTF-8", 'application/json;charset="utf-8"'],
)
def test_json_media_types_are_matched_case_insensitively_with_a_utf8_charset(world: World, content_type: str) -> None:
    status, _, _ = _send("POST", "/items", "/items", None, '{"name": "Widget"}', content_type)
    assert status == 201


@pytest.mark.parametrize(("method", "path", "resource", "path_parameters"), BODY_ROUTES)
@pytest.mark.parametrize(
    "content_type",
    [
        "",
        "application/jsonx",
        "application/json-patch+json",
        "application/merge-patch+json",
        "text/json",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=xyz",
        "text/plain",
        "application/json; charset=latin-1",
        "application/json; version=2",
    ],
    ids=[
        "none",
        "jsonx",
        "json-patch",
        "merge-patch",
        "text-json",
        "form",
        "multipart",
        "text",
        "latin-1",
        "other-parameter",
    ],
)
def test_a_body_not_declared_as_utf8_json_is_415(
    world: World,
    method: str,
    path: str,
    resource: str,
    path_parameters: dict[str, str] | None,
    content_type: str,
) -> None:
    raw = "name=x" if "form" in content_type else '{"name": "Widget"}'
    status, body, _ = _send(method, path, resource, path_parameters, raw, content_type)
    assert status == 415
    assert body["message"].endswith("send the request body as application/json")
    assert not world.repository.items


def test_a_query_parameter_given_twice_is_400_in_every_event_shape(world: World) -> None:
    event = rest_event("GET", "/items", query={"limit": "7"}, claims=CALLER)
    event["multiValueQueryStringParameters"] = {"limit": ["5", "7"]}  # what API Gateway sends for ?limit=5&limit=7
    status, body, _ = invoke(event)
    assert status == 400
    assert body == {"message": "query parameter 'limit' is given 2 times: give it once"}


def test_a_name_is_stored_without_surrounding_white_space_but_keeps_inner_characters(world: World) -> None:
    status, body, _ = create({"name": "  Caf\u00e9 \u2014 \U0001f600 ", "description": "two\nlines\ttabbed"})
    assert status == 201
    assert body["name"] == "Caf\u00e9 \u2014 \U0001f600"
    assert body["description"] == "two\nlines\ttabbed"


@pytest.mark.parametrize("written", ["117", "117.0", "1.17e2", "117E0"])
def test_a_whole_quantity_is_the_same_number_however_it_is_written(world: World, written: str) -> None:
    status, body, _ = invoke(
        rest_event("POST", "/items", raw_body='{"name": "x", "quantity": ' + written + "}", claims=CALLER)
    )
    assert (status, body["quantity"]) == (201, 117)
