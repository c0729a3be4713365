"""The committed OpenAPI document matches the handler, and API Gateway's request models, read from that
document, carry every field and limit of the runtime's models."""

import json
import re
from typing import Any

import pytest
from aws_cdk.aws_apigateway import JsonSchemaType
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

import items_runtime.api  # noqa: F401 - imported at collection: the X-Ray SDK opens its socket at import
from items_runtime.logic.page_tokens import PageTokenSigner
from items_runtime.models import (
    CURSOR_PATTERN,
    DESCRIPTION_PATTERN,
    IDEMPOTENCY_KEY_PATTERN,
    NAME_MAX_LENGTH,
    NAME_PATTERN,
    QUANTITY_MAX,
    IngestRequest,
    ItemIn,
)
from services.items.asset import OPENAPI_DOCUMENT
from services.items.request_models import request_model
from tools import openapi


def test_committed_openapi_document_is_current() -> None:
    assert OPENAPI_DOCUMENT.read_text(encoding="utf-8") == openapi.render(), "run `make openapi` and commit"


def test_openapi_document_lists_every_route() -> None:
    document = json.loads(OPENAPI_DOCUMENT.read_text(encoding="utf-8"))
    routes = {(path, verb) for path, verbs in document["paths"].items() for verb in verbs}
    assert routes == {
        ("/health", "get"),
        ("/items", "get"),
        ("/items", "post"),
        ("/items/{item_id}", "get"),
        ("/items/{item_id}", "put"),
        ("/items/{item_id}", "delete"),
        ("/ingest", "post"),
        ("/ingest/{ingest_id}", "get"),
    }
    assert document["info"]["title"] == "Items API"


@pytest.mark.parametrize("model", [ItemIn, IngestRequest], ids=["ItemIn", "IngestRequest"])
def test_api_gateway_model_carries_every_field_and_limit_of_the_runtime_model(model: type) -> None:
    schema = request_model(model.__name__)
    runtime = model.model_json_schema()
    assert list(schema.properties) == list(runtime["properties"]), "same fields, in the model's order"
    assert schema.required == runtime.get("required", [])
    assert schema.additional_properties is False
    for name, field in runtime["properties"].items():
        translated = schema.properties[name]
        for limit, attribute in (("maxLength", "max_length"), ("minLength", "min_length"), ("maximum", "maximum")):
            if limit in field:
                assert getattr(translated, attribute) == field[limit], (name, limit)
        if "enum" in field:
            assert translated.enum == field["enum"]


# --- the document is exact: what it declares is what the handler and API Gateway answer ---------------


def _document() -> dict[str, Any]:
    document: dict[str, Any] = json.loads(OPENAPI_DOCUMENT.read_text(encoding="utf-8"))
    return document


def _operations() -> list[tuple[str, str, dict[str, Any]]]:
    return [(path, verb, op) for path, verbs in _document()["paths"].items() for verb, op in verbs.items()]


def _schema(response: dict[str, Any]) -> Any:
    return response["content"]["application/json"]["schema"]


@pytest.mark.parametrize(
    ("path", "verb", "success", "statuses"),
    [
        ("/health", "get", "200", {400, 403, 413, 429, 431, 503}),
        ("/items", "get", "200", {400, 401, 403, 413, 422, 429, 431, 503}),
        ("/items", "post", "201", {400, 401, 403, 409, 413, 415, 422, 429, 431, 503}),
        ("/items/{item_id}", "get", "200", {400, 401, 403, 404, 413, 422, 429, 431, 503}),
        ("/items/{item_id}", "put", "200", {400, 401, 403, 404, 413, 415, 422, 429, 431, 503}),
        ("/items/{item_id}", "delete", "204", {400, 401, 403, 404, 413, 422, 429, 431, 503}),
        ("/ingest", "post", "201", {400, 401, 403, 409, 413, 415, 422, 429, 431, 503}),
        ("/ingest/{ingest_id}", "get", "200", {400, 401, 403, 404, 413, 422, 429, 431, 503}),
    ],
)
def test_every_operation_documents_each_status_it_can_answer(
    path: str, verb: str, success: str, statuses: set[int]
) -> None:
    responses = _document()["paths"][path][verb]["responses"]
    assert set(responses) == {success} | {str(s) for s in statuses}


def test_every_error_answer_is_documented_with_the_error_body() -> None:
    for path, verb, operation in _operations():
        for status, response in operation["responses"].items():
            if int(status) >= 400 and not (path == "/health" and status == "503"):
                assert _schema(response) == {"$ref": "#/components/schemas/ErrorBody"}, (path, verb, status)
    error_body = _document()["components"]["schemas"]["ErrorBody"]
    assert error_body["required"] == ["message"]
    assert "HTTPValidationError" not in _document()["components"]["schemas"]


def test_success_bodies_are_the_models_the_handler_returns() -> None:
    paths = _document()["paths"]
    assert _schema(paths["/health"]["get"]["responses"]["200"]) == {"$ref": "#/components/schemas/Health"}
    assert _schema(paths["/health"]["get"]["responses"]["503"]) == {"$ref": "#/components/schemas/HealthFailing"}
    assert _schema(paths["/items"]["post"]["responses"]["201"]) == {"$ref": "#/components/schemas/Item"}
    assert _schema(paths["/ingest"]["post"]["responses"]["201"]) == {"$ref": "#/components/schemas/IngestTicket"}
    assert _schema(paths["/items"]["get"]["responses"]["200"]) == {"$ref": "#/components/schemas/ItemPage"}
    for created in (paths["/items"]["post"], paths["/ingest"]["post"]):
        assert "Location" in created["responses"]["201"]["headers"]


def test_a_delete_documents_its_204_without_content() -> None:
    assert _document()["paths"]["/items/{item_id}"]["delete"]["responses"]["204"] == {"description": "Deleted"}


def test_cognito_and_the_api_key_are_declared_on_every_route_but_health() -> None:
    document = _document()
    schemes = document["components"]["securitySchemes"]
    assert schemes["CognitoUserPool"]["x-amazon-apigateway-authtype"] == "cognito_user_pools"
    assert (schemes["CognitoUserPool"]["in"], schemes["CognitoUserPool"]["name"]) == ("header", "Authorization")
    assert (schemes["ApiKey"]["in"], schemes["ApiKey"]["name"]) == ("header", "X-Api-Key")
    for path, verb, operation in _operations():
        expected = None if path == "/health" else [{"CognitoUserPool": [], "ApiKey": []}]
        assert operation.get("security") == expected, (path, verb)


def test_parameters_are_documented_as_the_handler_accepts_them() -> None:
    parameters = {p["name"]: p for p in _document()["paths"]["/items"]["get"]["parameters"]}
    assert parameters["next_token"]["schema"]["pattern"] == CURSOR_PATTERN
    assert parameters["next_token"]["schema"]["type"] == "string", "a query parameter is never null"
    assert (parameters["limit"]["schema"]["minimum"], parameters["limit"]["schema"]["maximum"]) == (1, 100)
    idempotency = {p["name"]: p for p in _document()["paths"]["/items"]["post"]["parameters"]}["idempotency-key"]
    assert (idempotency["in"], idempotency["schema"]["pattern"]) == ("header", IDEMPOTENCY_KEY_PATTERN)


def test_an_issued_cursor_matches_the_documented_pattern() -> None:
    token = PageTokenSigner(b"k" * 32).encode(
        {"pk": {"S": "ITEM#1"}, "sk": {"S": "ITEM"}, "gsi1pk": {"S": "ITEM"}, "gsi1sk": {"S": "2026-11-22T00:00:00Z"}}
    )
    assert re.search(CURSOR_PATTERN, token)


def test_the_text_rules_are_documented_on_each_field() -> None:
    item_in = _document()["components"]["schemas"]["ItemIn"]["properties"]
    assert item_in["name"]["pattern"] == NAME_PATTERN
    assert item_in["description"]["pattern"] == DESCRIPTION_PATTERN
    assert "117.0" in item_in["quantity"]["description"]
    assert item_in["quantity"]["type"] == "integer"
    assert (item_in["quantity"]["minimum"], item_in["quantity"]["maximum"]) == (0, QUANTITY_MAX)
    quantity = request_model("ItemIn").properties["quantity"]
    assert (quantity.type, quantity.multiple_of) == (JsonSchemaType.NUMBER, 1), "draft 4: 117.0 is a number"


@settings(max_examples=300, deadline=None)
@given(text=st.text(st.characters(codec="utf-8"), max_size=12) | st.sampled_from(["\u200b", " x ", "\u3164", "a\n"]))
def test_the_documented_name_pattern_accepts_exactly_what_the_handler_accepts(text: str) -> None:
    documented = bool(re.search(NAME_PATTERN, text)) and 1 <= len(text) <= NAME_MAX_LENGTH
    try:
        ItemIn.model_validate({"name": text})
        accepted = True
    except ValidationError:
        accepted = False
    assert accepted == documented
