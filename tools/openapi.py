"""`make openapi`: writes the items API's OpenAPI document (services/items/openapi.json) from the
handler's routes and models. API Gateway's request models are read from it (services/items/request_models.py)."""

import json
import sys
from typing import Any

from services.items.asset import OPENAPI_DOCUMENT
from tools.lambda_assets import make_importable

TITLE = "Items API"
VERSION = "1.0.0"
DESCRIPTION = (
    "CRUD on items, and bulk import: POST /ingest returns a presigned URL to PUT a JSON Lines or CSV file "
    "of items to; the file is validated and imported whole or not at all, and GET /ingest/{ingest_id} "
    "tells the outcome. Every /items and /ingest route needs a Cognito access token (Authorization "
    "header): a signed-in user's, or a machine client's with the items/read scope (GET) or items/write "
    "(POST, PUT, DELETE); and, where the environment requires it, the usage plan's API key (X-Api-Key). "
    "POST accepts an Idempotency-Key header. Every error answer is a JSON object with a `message`."
)


def _security_schemes() -> dict[str, Any]:
    from aws_lambda_powertools.event_handler.openapi.models import APIKey, APIKeyIn

    return {
        # How API Gateway itself describes a Cognito user pool authorizer in an exported document.
        "CognitoUserPool": APIKey(
            name="Authorization",
            in_=APIKeyIn.header,
            description="A Cognito ID token of the stage's user pool, verified by API Gateway",
            openapi_extensions={"x-amazon-apigateway-authtype": "cognito_user_pools"},
        ),
        "ApiKey": APIKey(
            name="X-Api-Key",
            in_=APIKeyIn.header,
            description="The usage plan's API key (where the environment sets api.api_key_required)",
        ),
    }


def _without_null(schema: dict[str, Any]) -> dict[str, Any]:
    """A query or header parameter is text or absent, never JSON null: drop the null of `X | None`."""
    variants = [v for v in schema.get("anyOf", []) if v != {"type": "null"}]
    if len(variants) == 1 and len(schema["anyOf"]) == 2:
        rest = {k: v for k, v in schema.items() if k != "anyOf"}
        return {**variants[0], **rest}
    return schema


def _referenced(document: dict[str, Any]) -> set[str]:
    text = json.dumps(document["paths"])
    names: set[str] = set()
    pending = [n for n in document["components"]["schemas"] if f'"#/components/schemas/{n}"' in text]
    while pending:
        name = pending.pop()
        if name not in names:
            names.add(name)
            inner = json.dumps(document["components"]["schemas"][name])
            pending += [n for n in document["components"]["schemas"] if f'"#/components/schemas/{n}"' in inner]
    return names


def _tidy(document: dict[str, Any]) -> dict[str, Any]:
    """What the generator cannot be told: a 204 has no content, parameters are never null, and
    Powertools' validation-error answer is not ours: every route with something to validate declares
    its 422 with ErrorBody, and the 422 Powertools adds to a route that validates nothing (GET /health)
    cannot happen."""
    powertools_422 = {"$ref": "#/components/schemas/HTTPValidationError"}
    for operations in document["paths"].values():
        for operation in operations.values():
            for parameter in operation.get("parameters", []):
                parameter["schema"] = _without_null(parameter["schema"])
            responses = operation["responses"]
            if responses.get("422", {}).get("content", {}).get("application/json", {}).get("schema") == powertools_422:
                del responses["422"]
            for response in responses.values():
                if response.get("content") == {}:
                    del response["content"]
    used = _referenced(document)
    document["components"]["schemas"] = {k: v for k, v in document["components"]["schemas"].items() if k in used}
    return document


def render() -> str:
    make_importable()
    from items_runtime.api import app

    document = json.loads(
        app.get_openapi_json_schema(
            title=TITLE, version=VERSION, description=DESCRIPTION, security_schemes=_security_schemes()
        )
    )
    # Key order is the handler's (field order of the models), which API Gateway's models keep too.
    return json.dumps(_tidy(document), indent=2) + "\n"


def main() -> int:
    OPENAPI_DOCUMENT.write_text(render(), encoding="utf-8")
    print(f"wrote {OPENAPI_DOCUMENT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
