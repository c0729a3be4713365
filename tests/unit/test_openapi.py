"""The committed OpenAPI document matches the handler; the API Gateway model matches the runtime model."""

import json

from items_api.models import ItemIn
from services.items import openapi
from services.items.request_models import json_schema_of


def test_committed_openapi_document_is_current() -> None:
    assert openapi.OPENAPI_PATH.read_text(encoding="utf-8") == openapi.render(), "run `make openapi` and commit"


def test_openapi_document_lists_every_route() -> None:
    document = json.loads(openapi.OPENAPI_PATH.read_text(encoding="utf-8"))
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


def test_api_gateway_model_carries_every_field_and_limit_of_the_runtime_model() -> None:
    schema = json_schema_of(ItemIn)
    runtime = ItemIn.model_json_schema()
    assert set(schema.properties) == set(runtime["properties"])
    assert schema.required == runtime["required"]
    assert schema.additional_properties is False
    assert schema.properties["name"].max_length == runtime["properties"]["name"]["maxLength"]
    assert schema.properties["quantity"].maximum == runtime["properties"]["quantity"]["maximum"]
