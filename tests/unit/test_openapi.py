"""The committed OpenAPI document matches the handler, and API Gateway's request models, read from that
document, carry every field and limit of the runtime's models."""

import json

import pytest

from items_runtime.models import IngestRequest, ItemIn
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
