"""Fuzzing: generated bodies, headers, query strings and paths against every route never produce a
5xx or an unhandled exception, and every 4xx carries a JSON message."""

import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from items_runtime import api as handler
from items_runtime.logic.page_tokens import PageTokenSigner
from items_runtime.wiring import api as dependencies
from tests.unit.fakes import InMemoryIdempotencyStore, InMemoryItemRepository, InMemoryJobStore
from tools.events import FakeLambdaContext, rest_event

ROUTES = [
    ("GET", "/health", "/health"),
    ("GET", "/items", "/items"),
    ("POST", "/items", "/items"),
    ("GET", "/items/{item_id}", "/items/{item_id}"),
    ("PUT", "/items/{item_id}", "/items/{item_id}"),
    ("DELETE", "/items/{item_id}", "/items/{item_id}"),
    ("POST", "/ingest", "/ingest"),
    ("GET", "/ingest/{item_id}", "/ingest/{ingest_id}"),
]
FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

text = st.text(max_size=80)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | text,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(text, children, max_size=4),
    max_leaves=12,
)
bodies = st.one_of(
    st.none(),
    text,  # not JSON at all, or JSON scalars by chance
    json_values.map(json.dumps),
    st.fixed_dictionaries(
        {"name": json_values, "description": json_values, "quantity": json_values},
        optional={"extra": json_values},
    ).map(json.dumps),
    st.fixed_dictionaries({}, optional={"format": st.sampled_from(["jsonl", "csv"]) | json_values}).map(json.dumps),
)
header_names = st.sampled_from(
    ["Idempotency-Key", "idempotency-key", "Origin", "Content-Type", "X-Api-Key", "X-Custom"]
)
headers = st.dictionaries(header_names, st.text(max_size=150), max_size=4)
queries = st.dictionaries(st.sampled_from(["limit", "next_token", "other"]), text, max_size=3)
item_ids = st.one_of(st.text(max_size=40), st.from_regex(r"[0-9a-f]{32}", fullmatch=True))
claims = st.one_of(
    st.none(), st.just({"sub": "fuzzer"}), st.dictionaries(st.sampled_from(["sub", "email"]), text, max_size=2)
)


def _invoke(event: dict[str, Any]) -> dict[str, Any]:
    dependencies.use(
        repository=InMemoryItemRepository(),
        signer=PageTokenSigner(b"k" * 32),
        idempotency_store=InMemoryIdempotencyStore(),
        ingest_jobs=InMemoryJobStore(),
        upload_signer=lambda key, content_type, expires_in: f"https://bucket.s3.amazonaws.com/{key}",
    )
    try:
        return handler.lambda_handler(event, FakeLambdaContext())
    finally:
        dependencies.use()


def _assert_well_behaved(response: dict[str, Any]) -> None:
    status = response["statusCode"]
    assert status < 500, response
    if 400 <= status < 500:
        body = json.loads(response["body"])
        assert isinstance(body, dict)
        assert isinstance(body.get("message"), str)
        assert body["message"]


def _path_parameters(resource: str, value: str) -> dict[str, str] | None:
    for name in ("item_id", "ingest_id"):
        if f"{{{name}}}" in resource:
            return {name: value}
    return None


@FUZZ
@given(route=st.sampled_from(ROUTES), body=bodies, headers=headers, query=queries, item_id=item_ids, claims=claims)
def test_no_request_to_a_known_route_gets_a_server_error(
    route: tuple[str, str, str],
    body: str | None,
    headers: dict[str, str],
    query: dict[str, str],
    item_id: str,
    claims: dict[str, str] | None,
) -> None:
    method, path_template, resource = route
    path = path_template.replace("{item_id}", item_id)
    event = rest_event(
        method,
        path,
        resource=resource,
        raw_body=body,
        query=query or None,
        path_parameters=_path_parameters(resource, item_id),
        headers=headers,
        claims=claims,
    )
    _assert_well_behaved(_invoke(event))


@FUZZ
@given(
    method=st.sampled_from(["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD"]), path=st.text(max_size=60), body=bodies
)
def test_no_request_to_any_path_gets_a_server_error(method: str, path: str, body: str | None) -> None:
    _assert_well_behaved(_invoke(rest_event(method, "/" + path, raw_body=body, claims={"sub": "fuzzer"})))
