"""API Gateway request models from the OpenAPI document the runtime exports (openapi.json, kept current by
`make openapi` and a staleness test), so the gateway validates what the handler validates without the
infrastructure importing the runtime."""

import json
from functools import cache
from typing import Any

from aws_cdk import aws_apigateway as apigw

from services.items.asset import OPENAPI_DOCUMENT

_TYPES = {
    "string": apigw.JsonSchemaType.STRING,
    "integer": apigw.JsonSchemaType.INTEGER,
    "number": apigw.JsonSchemaType.NUMBER,
    "boolean": apigw.JsonSchemaType.BOOLEAN,
}
_LIMITS = {
    "minLength": "min_length",
    "maxLength": "max_length",
    "minimum": "minimum",
    "maximum": "maximum",
    "pattern": "pattern",
    "enum": "enum",
}


class UnsupportedSchemaError(ValueError):
    """The document's schema uses a construct this translation does not handle."""


@cache
def _schemas() -> dict[str, Any]:
    schemas: dict[str, Any] = json.loads(OPENAPI_DOCUMENT.read_text(encoding="utf-8"))["components"]["schemas"]
    return schemas


def _limit(value: Any) -> Any:
    # JSON Schema numbers: 1000000.0 is the integer 1000000.
    return int(value) if isinstance(value, float) and value.is_integer() else value


def _property(name: str, schema: dict[str, Any]) -> apigw.JsonSchema:
    if schema.get("type") not in _TYPES:
        raise UnsupportedSchemaError(f"property {name!r}: only scalar types are translated, got {schema}")
    limits = {_LIMITS[k]: _limit(v) for k, v in schema.items() if k in _LIMITS}
    if schema["type"] == "integer":
        # The document's integer (JSON Schema 2020-12) includes 117.0; draft 4's does not. A number that
        # is a multiple of 1 is the same set of values in both.
        return apigw.JsonSchema(type=apigw.JsonSchemaType.NUMBER, multiple_of=1, **limits)
    return apigw.JsonSchema(type=_TYPES[schema["type"]], **limits)


def request_model(name: str) -> apigw.JsonSchema:
    """Draft-4 schema (what API Gateway validates) of a flat object schema of the OpenAPI document."""
    schema = _schemas()[name]
    return apigw.JsonSchema(
        schema=apigw.JsonSchemaVersion.DRAFT4,
        title=schema.get("title", name),
        type=apigw.JsonSchemaType.OBJECT,
        properties={key: _property(key, prop) for key, prop in schema["properties"].items()},
        required=list(schema.get("required", [])),
        additional_properties=schema.get("additionalProperties", True) is not False,
    )
