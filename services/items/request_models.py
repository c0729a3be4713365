"""API Gateway request models derived from the runtime's pydantic models, so the two cannot drift."""

from typing import Any

from aws_cdk import aws_apigateway as apigw
from pydantic import BaseModel

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
    """The pydantic model uses a construct this translation does not handle."""


def _property(name: str, schema: dict[str, Any]) -> apigw.JsonSchema:
    if schema.get("type") not in _TYPES:
        raise UnsupportedSchemaError(f"property {name!r}: only scalar types are translated, got {schema}")
    limits = {_LIMITS[k]: v for k, v in schema.items() if k in _LIMITS}
    return apigw.JsonSchema(type=_TYPES[schema["type"]], **limits)


def json_schema_of(model: type[BaseModel]) -> apigw.JsonSchema:
    """Draft-4 schema (what API Gateway validates) of a flat pydantic model with scalar fields."""
    schema = model.model_json_schema()
    return apigw.JsonSchema(
        schema=apigw.JsonSchemaVersion.DRAFT4,
        title=schema.get("title", model.__name__),
        type=apigw.JsonSchemaType.OBJECT,
        properties={name: _property(name, prop) for name, prop in schema["properties"].items()},
        required=list(schema.get("required", [])),
        additional_properties=model.model_config.get("extra") != "forbid",
    )
