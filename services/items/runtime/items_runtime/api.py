"""Lambda entry point of the items API function: parse the request, call the logic, map results and
errors to responses."""

# No `from __future__ import annotations`: Powertools reads the route signatures at run time.
import gc

# The collector waits while the function's modules load: they make hardly any garbage, and a full
# collection amid the imports scans every object they created (about 15 % of a cold start, measured by
# `make bench`). What they built is then frozen, so later collections do not scan it again.
gc.disable()

import json
import re
from collections.abc import Callable
from http import HTTPStatus
from typing import Annotated, Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, CORSConfig, Response, content_types
from aws_lambda_powertools.event_handler.exceptions import NotFoundError
from aws_lambda_powertools.event_handler.openapi.exceptions import (
    RequestUnsupportedContentType,
    RequestValidationError,
)
from aws_lambda_powertools.event_handler.openapi.params import Header, Path, Query
from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponse, OpenAPIResponseHeader
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit, single_metric
from aws_lambda_powertools.utilities.typing import LambdaContext

from .errors import (
    IdempotencyInProgressError,
    IdempotencyKeyReusedError,
    IngestNotFoundError,
    InvalidIdempotencyKeyError,
    InvalidPageTokenError,
    ItemNotFoundError,
    StorageUnavailableError,
    UnauthenticatedError,
)
from .logic import ingest as ingest_logic
from .logic import items as logic
from .models import (
    CURSOR_MAX_LENGTH,
    CURSOR_PATTERN,
    IDEMPOTENCY_KEY_PATTERN,
    ITEM_ID_PATTERN,
    ErrorBody,
    Health,
    HealthFailing,
    IngestJob,
    IngestRequest,
    IngestTicket,
    Item,
    ItemIn,
    ItemPage,
)
from .observability import logger, metrics, tracer
from .request_body import UnsupportedMediaTypeError, json_media_type
from .request_body import loads as load_json
from .settings import api_settings, cors_origins
from .wiring import api as deps

MAX_BODY_BYTES = 64 * 1024
# Every POST and PUT of this API takes a JSON body; no other method reads one.
BODY_METHODS = frozenset({"POST", "PUT"})
IDEMPOTENCY_HEADER = "Idempotency-Key"
ItemId = Annotated[str, Path(pattern=ITEM_ID_PATTERN, description="32 lower-case hex characters")]
IngestId = ItemId  # ingest ids have the shape of item ids
IdempotencyKey = Annotated[
    str | None,
    Header(
        alias=IDEMPOTENCY_HEADER,
        pattern=IDEMPOTENCY_KEY_PATTERN,
        description="Makes a retry safe: a request with the key and body of an earlier one gets the earlier "
        "answer instead of creating again (per caller and route, for 24 hours).",
    ),
]
# What the document declares (tools/openapi.py): the Cognito authorizer and the usage plan's API key.
# API Gateway checks both before the function runs.
PROTECTED: list[dict[str, list[str]]] = [{"CognitoUserPool": [], "ApiKey": []}]


def _answers(success: dict[int, OpenAPIResponse], *statuses: int) -> dict[int, OpenAPIResponse]:
    """The responses an operation documents: its success, then every error status it can answer, each
    with the error body. 400, 403, 413, 429 and 431 can answer any request (a query parameter given twice
    or a body API Gateway's model refuses, the WAF or a missing API key, a body over 64 KiB, throttling,
    headers over API Gateway's limit)."""
    errors = {
        400: "Malformed request: the body is not valid JSON or not what the request model allows (API "
        "Gateway: Invalid request body), a query parameter is given more than once, or a list cursor this "
        "API did not issue",
        401: "No valid Cognito ID token in the Authorization header",
        403: "Refused by API Gateway: no valid API key in X-Api-Key where one is required, or the WAF",
        404: "No such item or upload of this caller",
        409: "A request with this Idempotency-Key is still in progress; retry after Retry-After seconds",
        413: "The request body exceeds 64 KiB",
        415: "The request body is not declared as application/json (charset utf-8 at most)",
        422: "A field or parameter is invalid (`errors` names each), or the Idempotency-Key was used with another body",
        429: "Throttled by the stage or the usage plan",
        431: "The request line and headers exceed API Gateway's 10 240 bytes",
        503: "The table is busy; nothing was written, retry after Retry-After seconds",
    }
    retry_after: dict[str, OpenAPIResponseHeader] = {
        "Retry-After": {"description": "Seconds to wait", "schema": {"type": "string"}}
    }
    answers = dict(success)
    for status in sorted({400, 403, 413, 429, 431, *statuses}):
        answer: OpenAPIResponse = {
            "description": errors[status],
            "content": {content_types.APPLICATION_JSON: {"model": ErrorBody}},
        }
        if status in (409, 503):
            answer["headers"] = retry_after
        answers[status] = answer
    return answers


def _ok(model: type[Any], description: str = "Successful Response") -> dict[int, OpenAPIResponse]:
    return {200: {"description": description, "content": {content_types.APPLICATION_JSON: {"model": model}}}}


def _created(model: type[Any]) -> dict[int, OpenAPIResponse]:
    return {
        201: {
            "description": "Created",
            "headers": {"Location": {"description": "Where the new resource is", "schema": {"type": "string"}}},
            "content": {content_types.APPLICATION_JSON: {"model": model}},
        }
    }


def _cors() -> CORSConfig:
    origins = cors_origins()
    return CORSConfig(
        allow_origin=origins[0] if origins else "",
        extra_origins=list(origins[1:]),
        allow_headers=["Authorization", "Content-Type", IDEMPOTENCY_HEADER, "X-Api-Key"],
        max_age=300,
    )


app = APIGatewayRestResolver(enable_validation=True, cors=_cors(), json_body_deserializer=load_json)


def _json(status: HTTPStatus, body: Any, headers: dict[str, str] | None = None) -> Response[str]:
    return Response(
        status_code=status.value,
        content_type=content_types.APPLICATION_JSON,
        body=body if isinstance(body, str) else json.dumps(body),
        headers=headers,
    )


def _caller() -> str:
    """Who API Gateway verified: the Cognito subject of the token (a person, or a machine client, whose
    access token names it by its client id); refuse the request when there is none."""
    authorizer = app.current_event.request_context.authorizer
    claims = authorizer.claims if authorizer else None
    subject = (claims.get("sub") or claims.get("client_id")) if isinstance(claims, dict) else None
    if not subject:
        raise UnauthenticatedError("a valid Cognito token is required")
    return str(subject)


def _create(request: dict[str, Any]) -> dict[str, Any]:
    item = logic.create_item(deps.repository(), ItemIn.model_validate(request["payload"]), caller=request["caller"])
    return item.model_dump()


def _start_ingest(request: dict[str, Any]) -> dict[str, Any]:
    ticket = ingest_logic.start_ingest(
        deps.ingest_jobs(),
        deps.upload_signer(),
        IngestRequest.model_validate(request["payload"]),
        caller=request["caller"],
        settings=api_settings().ingest,
    )
    return ticket.model_dump()


def _once_per_key(
    operation: Callable[[dict[str, Any]], dict[str, Any]], payload: dict[str, Any], key: str | None
) -> dict[str, Any]:
    """Run a create; with an Idempotency-Key header, a retry with the same key and body gets the first
    answer back instead of creating again."""
    caller = _caller()
    if key is None:
        return operation({"caller": caller, "payload": payload})
    if not re.fullmatch(IDEMPOTENCY_KEY_PATTERN, key):  # the router checked it; kept should a route forget
        raise InvalidIdempotencyKeyError(f"{IDEMPOTENCY_HEADER} must match {IDEMPOTENCY_KEY_PATTERN}")
    # Keys are scoped per operation, so one key sent to two routes stays two requests.
    scoped = f"{operation.__name__.strip('_')}:{key}"
    return deps.run_idempotently(operation, {"caller": caller, "key": scoped, "payload": payload})


@app.get(
    "/health",
    summary="Liveness check",
    tags=["health"],
    responses=_answers(
        {
            **_ok(Health, "The function answers"),
            503: {
                "description": "The function is deliberately failing (the rollback drill)",
                "content": {content_types.APPLICATION_JSON: {"model": HealthFailing}},
            },
        }
    ),
)
def health() -> Response[str]:
    if api_settings().simulate_failure:  # the rollback drill (dev only, see README)
        return _json(HTTPStatus.SERVICE_UNAVAILABLE, {"status": "failing", "message": "SIMULATE_FAILURE is set"})
    return _json(HTTPStatus.OK, {"status": "ok"})


@app.post(
    "/items",
    summary="Create an item",
    tags=["items"],
    security=PROTECTED,
    responses=_answers(_created(Item), 401, 409, 415, 422, 503),
)
@tracer.capture_method
def create_item(payload: ItemIn, idempotency_key: IdempotencyKey = None) -> Response[str]:
    item = Item.model_validate(_once_per_key(_create, payload.model_dump(), idempotency_key))
    metrics.add_metric(name="ItemCreated", unit=MetricUnit.Count, value=1)
    return _json(HTTPStatus.CREATED, item.model_dump_json(), headers={"Location": f"/items/{item.id}"})


@app.get(
    "/items",
    summary="List items, newest first",
    tags=["items"],
    security=PROTECTED,
    responses=_answers(_ok(ItemPage), 401, 422, 503),
)
@tracer.capture_method
def list_items(
    limit: Annotated[int, Query(ge=1, le=logic.MAX_PAGE_SIZE, description="Items per page")] = logic.DEFAULT_PAGE_SIZE,
    next_token: Annotated[
        str | None,
        Query(
            pattern=CURSOR_PATTERN,
            max_length=CURSOR_MAX_LENGTH,
            description="The next_token of the previous page, as this API issued it (a token it did not issue is 400)",
        ),
    ] = None,
) -> ItemPage:
    _caller()
    return logic.list_items(deps.repository(), deps.page_signer, limit, next_token)


@app.get(
    "/items/<item_id>",
    summary="Read an item",
    tags=["items"],
    security=PROTECTED,
    responses=_answers(_ok(Item), 401, 404, 422, 503),
)
@tracer.capture_method
def get_item(item_id: ItemId) -> Item:
    _caller()
    return logic.get_item(deps.repository(), item_id)


@app.put(
    "/items/<item_id>",
    summary="Replace an item",
    tags=["items"],
    security=PROTECTED,
    responses=_answers(_ok(Item), 401, 404, 415, 422, 503),
)
@tracer.capture_method
def replace_item(item_id: ItemId, payload: ItemIn) -> Item:
    _caller()
    item = logic.replace_item(deps.repository(), item_id, payload)
    metrics.add_metric(name="ItemReplaced", unit=MetricUnit.Count, value=1)
    return item


@app.delete(
    "/items/<item_id>",
    summary="Delete an item",
    tags=["items"],
    security=PROTECTED,
    responses=_answers({204: {"description": "Deleted", "content": {}}}, 401, 404, 422, 503),
)
@tracer.capture_method
def delete_item(item_id: ItemId) -> Response[str]:
    _caller()
    logic.delete_item(deps.repository(), item_id)
    metrics.add_metric(name="ItemDeleted", unit=MetricUnit.Count, value=1)
    return Response(status_code=HTTPStatus.NO_CONTENT.value, body="")


@app.post(
    "/ingest",
    summary="Start an upload: get a presigned URL to PUT a JSON Lines or CSV file of items to",
    tags=["ingest"],
    security=PROTECTED,
    responses=_answers(_created(IngestTicket), 401, 409, 415, 422, 503),
)
@tracer.capture_method
def start_ingest(payload: IngestRequest, idempotency_key: IdempotencyKey = None) -> Response[str]:
    ticket = IngestTicket.model_validate(_once_per_key(_start_ingest, payload.model_dump(), idempotency_key))
    metrics.add_metric(name="UploadStarted", unit=MetricUnit.Count, value=1)
    return _json(HTTPStatus.CREATED, ticket.model_dump_json(), headers={"Location": f"/ingest/{ticket.id}"})


@app.get(
    "/ingest/<ingest_id>",
    summary="Read an upload's status and outcome",
    tags=["ingest"],
    security=PROTECTED,
    responses=_answers(_ok(IngestJob), 401, 404, 422, 503),
)
@tracer.capture_method
def get_ingest(ingest_id: IngestId) -> IngestJob:
    return ingest_logic.get_ingest(deps.ingest_jobs(), ingest_id, caller=_caller())


@app.exception_handler(RequestValidationError)
def _invalid_request(error: RequestValidationError) -> Response[str]:
    problems = [
        {"location": ".".join(str(p) for p in e.get("loc", ())), "message": e.get("msg", "invalid value")}
        for e in error.errors()
    ]
    malformed = next((e for e in error.errors() if e.get("type") == "json_invalid"), None)
    if malformed is not None:
        reason = (malformed.get("ctx") or {}).get("error")
        message = f"request body is not valid JSON: {reason}" if reason else "request body is not valid JSON"
        return _json(HTTPStatus.BAD_REQUEST, {"message": message})
    return _json(HTTPStatus.UNPROCESSABLE_ENTITY, {"message": "request validation failed", "errors": problems})


@app.exception_handler(RequestUnsupportedContentType)
def _unsupported_content_type(_: RequestUnsupportedContentType) -> Response[str]:
    return _json(HTTPStatus.UNSUPPORTED_MEDIA_TYPE, {"message": "send the request body as application/json"})


@app.exception_handler(UnauthenticatedError)
def _unauthenticated(error: UnauthenticatedError) -> Response[str]:
    return _json(HTTPStatus.UNAUTHORIZED, {"message": str(error)})


@app.exception_handler(ItemNotFoundError)
@app.exception_handler(IngestNotFoundError)
def _not_found(error: LookupError) -> Response[str]:
    return _json(HTTPStatus.NOT_FOUND, {"message": str(error)})


@app.exception_handler(InvalidIdempotencyKeyError)
def _bad_idempotency_key(error: InvalidIdempotencyKeyError) -> Response[str]:
    return _json(HTTPStatus.BAD_REQUEST, {"message": str(error)})


@app.exception_handler(InvalidPageTokenError)
def _bad_token(error: InvalidPageTokenError) -> Response[str]:
    return _json(HTTPStatus.BAD_REQUEST, {"message": str(error)})


@app.exception_handler(IdempotencyKeyReusedError)
def _key_reused(_: IdempotencyKeyReusedError) -> Response[str]:
    return _json(
        HTTPStatus.UNPROCESSABLE_ENTITY,
        {"message": f"this {IDEMPOTENCY_HEADER} was already used with a different request body"},
    )


@app.exception_handler(IdempotencyInProgressError)
def _key_in_progress(_: IdempotencyInProgressError) -> Response[str]:
    return _json(
        HTTPStatus.CONFLICT,
        {"message": f"a request with this {IDEMPOTENCY_HEADER} is still in progress, retry later"},
        headers={"Retry-After": "1"},
    )


@app.exception_handler(StorageUnavailableError)
def _storage_unavailable(error: StorageUnavailableError) -> Response[str]:
    logger.warning("storage unavailable", extra={"reason": str(error)})
    return _json(
        HTTPStatus.SERVICE_UNAVAILABLE,
        {"message": "the service is busy, retry later"},
        headers={"Retry-After": str(StorageUnavailableError.retry_after_seconds)},
    )


@app.not_found
def _route_not_found(_: NotFoundError) -> Response[str]:
    return _json(HTTPStatus.NOT_FOUND, {"message": "no such route"})


@app.exception_handler(Exception)
def _unexpected(_: Exception) -> Response[str]:
    logger.exception("unhandled error")
    return _json(HTTPStatus.INTERNAL_SERVER_ERROR, {"message": "internal error"})


def _refusal(status: HTTPStatus, message: str) -> dict[str, Any]:
    return {
        "statusCode": status.value,
        "headers": {"Content-Type": content_types.APPLICATION_JSON},
        "body": json.dumps({"message": message}),
        "isBase64Encoded": False,
    }


def _refuse_before_routing(event: dict[str, Any]) -> dict[str, Any] | None:
    """What is refused before any parsing: a body over the limit, a query parameter given more than
    once (API Gateway passes every value; which one counts would be a guess), and a POST or PUT body
    that is not declared as JSON. An accepted body's Content-Type is rewritten to its canonical form
    for the router, which compares it literally."""
    body = event.get("body") or ""
    if len(body.encode() if isinstance(body, str) else body) > MAX_BODY_BYTES:
        return _refusal(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, f"request body exceeds {MAX_BODY_BYTES} bytes")
    for name, values in sorted((event.get("multiValueQueryStringParameters") or {}).items()):
        if isinstance(values, list) and len(values) > 1:
            return _refusal(
                HTTPStatus.BAD_REQUEST, f"query parameter {name[:100]!r} is given {len(values)} times: give it once"
            )
    if event.get("httpMethod") in BODY_METHODS:
        headers = {k.lower(): v for k, v in (event.get("headers") or {}).items()}
        try:
            canonical = json_media_type(headers.get("content-type"))
        except UnsupportedMediaTypeError as error:
            return _refusal(HTTPStatus.UNSUPPORTED_MEDIA_TYPE, f"{error}: send the request body as application/json")
        _set_content_type(event, canonical)
    return None


def _set_content_type(event: dict[str, Any], value: str) -> None:
    for field, wrap in (("headers", lambda v: v), ("multiValueHeaders", lambda v: [v])):
        headers = event.get(field)
        if isinstance(headers, dict):
            for name in [n for n in headers if n.lower() == "content-type"]:
                del headers[name]
            headers["Content-Type"] = wrap(value)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    deps.remember_context(context)
    refused = _refuse_before_routing(event)
    if refused is not None:
        return refused
    response = app.resolve(event, context)
    _count_server_error(response, context)
    return response


def _count_server_error(response: dict[str, Any], context: LambdaContext) -> None:
    """Count a server error by the version that answered it: the deployment of a new version watches
    this count for that version only. A 503 (the table is busy) is not the code's fault and not counted."""
    status = response.get("statusCode", 200)
    if status >= HTTPStatus.INTERNAL_SERVER_ERROR and status != HTTPStatus.SERVICE_UNAVAILABLE:
        version = getattr(context, "function_version", None) or "$LATEST"
        with single_metric(name="ServerErrors", unit=MetricUnit.Count, value=1) as metric:
            metric.add_dimension(name="version", value=version)


gc.freeze()
gc.enable()
