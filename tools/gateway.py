"""API Gateway's front door for the local API, read from the synthesized template: which resources and
methods exist, which need the Cognito authorizer or an API key, which parameters are required, which
model validates a body (per Content-Type, `$default` for the rest), and the CORS preflight's mock answer.
What a client sees of API Gateway before the function runs is answered here the way API Gateway
answers it: unknown paths and methods 403 "Missing Authentication Token", 401 "Unauthorized" without a
token, 403 "Forbidden" without the API key, 400 for a request the validator refuses, the size limits."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from jsonschema import Draft4Validator

# API Gateway REST quotas: request line and headers together, and the payload.
MAX_HEADER_BYTES = 10_240
MAX_PAYLOAD_BYTES = 10 * 1024 * 1024
NO_SUCH_METHOD_MESSAGE = "Missing Authentication Token"


@dataclass(frozen=True)
class Answer:
    """A response API Gateway gives itself, without calling the integration."""

    status: int
    headers: dict[str, str]
    body: str

    @classmethod
    def error(cls, status: int, message: str) -> Answer:
        return cls(status, {"Content-Type": "application/json"}, json.dumps({"message": message}))


@dataclass(frozen=True)
class Method:
    authorized: bool = False
    api_key_required: bool = False
    required_parameters: tuple[str, ...] = ()  # e.g. "querystring.limit", "path.item_id"
    validate_parameters: bool = False
    validate_body: bool = False
    models: dict[str, dict[str, Any]] = field(default_factory=dict)  # content type -> JSON schema
    mock: Answer | None = None  # a MOCK integration's answer (the CORS preflight)


@dataclass(frozen=True)
class Resource:
    path: str  # "/items/{item_id}"
    pattern: re.Pattern[str]
    methods: dict[str, Method]


def _id(reference: Any) -> str:
    if isinstance(reference, dict) and "Ref" in reference:
        return str(reference["Ref"])
    if isinstance(reference, dict) and "Fn::GetAtt" in reference:
        return "/"  # the API's root resource
    raise ValueError(f"unexpected resource reference {reference!r}")


def _mock(integration: dict[str, Any]) -> Answer | None:
    if integration.get("Type") != "MOCK":
        return None
    response = integration["IntegrationResponses"][0]
    headers = {
        name.removeprefix("method.response.header."): str(value).strip("'")
        for name, value in (response.get("ResponseParameters") or {}).items()
    }
    return Answer(int(response["StatusCode"]), headers, "")


def resources_from_template(template: dict[str, Any]) -> list[Resource]:
    """The REST API's resources and methods as the template defines them, the most specific path first."""
    items = template["Resources"]
    parts = {k: v["Properties"] for k, v in items.items() if v["Type"] == "AWS::ApiGateway::Resource"}

    def path_of(resource_id: str) -> str:
        if resource_id == "/":
            return ""
        part = parts[resource_id]
        return f"{path_of(_id(part['ParentId']))}/{part['PathPart']}"

    models = {k: v["Properties"]["Schema"] for k, v in items.items() if v["Type"] == "AWS::ApiGateway::Model"}
    validators = {k: v["Properties"] for k, v in items.items() if v["Type"] == "AWS::ApiGateway::RequestValidator"}
    methods: dict[str, dict[str, Method]] = {}
    for value in items.values():
        if value["Type"] != "AWS::ApiGateway::Method":
            continue
        properties = value["Properties"]
        validator = validators.get(_id(properties["RequestValidatorId"])) if "RequestValidatorId" in properties else {}
        validator = validator or {}
        path = path_of(_id(properties["ResourceId"])) or "/"
        methods.setdefault(path, {})[properties["HttpMethod"]] = Method(
            authorized=properties.get("AuthorizationType", "NONE") != "NONE",
            api_key_required=bool(properties.get("ApiKeyRequired")),
            required_parameters=tuple(
                sorted(
                    name.removeprefix("method.request.")
                    for name, required in (properties.get("RequestParameters") or {}).items()
                    if required
                )
            ),
            validate_parameters=bool(validator.get("ValidateRequestParameters")),
            validate_body=bool(validator.get("ValidateRequestBody")),
            models={kind: models[_id(ref)] for kind, ref in (properties.get("RequestModels") or {}).items()},
            mock=_mock(properties.get("Integration") or {}),
        )
    resources = [
        Resource(path, re.compile(re.sub(r"\\{(\w+)\\}", r"(?P<\1>[^/]+)", re.escape(path))), by_method)
        for path, by_method in methods.items()
    ]
    # A literal segment wins over a {parameter}, as in API Gateway.
    return sorted(resources, key=lambda r: (r.path.count("{"), -r.path.count("/")))


def match(resources: list[Resource], path: str) -> tuple[Resource, dict[str, str]] | None:
    for resource in resources:
        found = resource.pattern.fullmatch(path)
        if found:
            return resource, found.groupdict()
    return None


def _media_type(headers: dict[str, str]) -> str:
    content_type = next((v for k, v in headers.items() if k.lower() == "content-type"), "")
    return content_type.split(";")[0].strip()


def _body_is_valid(method: Method, headers: dict[str, str], body: bytes) -> bool:
    schema = method.models.get(_media_type(headers)) or method.models.get("$default")
    if schema is None:  # no model for this content type: API Gateway does not validate the body
        return True
    try:
        instance = json.loads(body.decode("utf-8"))
    except (ValueError, RecursionError):  # API Gateway's parser refuses nesting and numbers it cannot hold
        return False
    return bool(Draft4Validator(schema).is_valid(instance))


def refuse(
    method: Method,
    *,
    headers: dict[str, str],
    query: dict[str, list[str]],
    path_parameters: dict[str, str],
    body: bytes,
    token: str,
    api_key: str,
) -> Answer | None:
    """What API Gateway answers before the integration runs, in its order: authorizer, API key, validator."""
    lower = {k.lower(): v for k, v in headers.items()}
    if method.authorized and lower.get("authorization", "").removeprefix("Bearer ").strip() != token:
        return Answer.error(401, "Unauthorized")
    if method.api_key_required and lower.get("x-api-key") != api_key:
        return Answer.error(403, "Forbidden")
    if method.validate_parameters:
        present = {f"path.{k}" for k, v in path_parameters.items() if v}
        present |= {f"querystring.{k}" for k, v in query.items() if any(v)}
        present |= {f"header.{k.lower()}" for k, v in headers.items() if v}
        missing = [
            p.split(".", 1)[1] for p in method.required_parameters if p.lower() not in {x.lower() for x in present}
        ]
        if missing:
            return Answer.error(400, f"Missing required request parameters: [{', '.join(missing)}]")
    if method.validate_body and not _body_is_valid(method, headers, body):
        return Answer.error(400, "Invalid request body")
    return None
