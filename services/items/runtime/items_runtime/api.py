"""Lambda entry point of the items API function: parse the request, call the logic, map results and
errors to responses."""

# No `from __future__ import annotations`: Powertools reads the route signatures at run time.
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
from aws_lambda_powertools.event_handler.openapi.params import Path, Query
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
    IDEMPOTENCY_KEY_PATTERN,
    ITEM_ID_PATTERN,
    IngestJob,
    IngestRequest,
    IngestTicket,
    Item,
    ItemIn,
    ItemPage,
)
from .observability import logger, metrics, tracer
from .settings import api_settings, cors_origins
from .wiring import api as deps

MAX_BODY_BYTES = 64 * 1024
IDEMPOTENCY_HEADER = "Idempotency-Key"
ItemId = Annotated[str, Path(pattern=ITEM_ID_PATTERN, description="32 lower-case hex characters")]
IngestId = ItemId  # ingest ids have the shape of item ids


def _cors() -> CORSConfig:
    origins = cors_origins()
    return CORSConfig(
        allow_origin=origins[0] if origins else "",
        extra_origins=list(origins[1:]),
        allow_headers=["Authorization", "Content-Type", IDEMPOTENCY_HEADER, "X-Api-Key"],
        max_age=300,
    )


app = APIGatewayRestResolver(enable_validation=True, cors=_cors())


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


def _once_per_key(operation: Callable[[dict[str, Any]], dict[str, Any]], payload: dict[str, Any]) -> dict[str, Any]:
    """Run a create; with an Idempotency-Key header, a retry with the same key and body gets the first
    answer back instead of creating again."""
    caller = _caller()
    key = app.current_event.headers.get(IDEMPOTENCY_HEADER)  # case-insensitive in Powertools v3
    if key is None:
        return operation({"caller": caller, "payload": payload})
    if not re.fullmatch(IDEMPOTENCY_KEY_PATTERN, key):
        raise InvalidIdempotencyKeyError(f"{IDEMPOTENCY_HEADER} must match {IDEMPOTENCY_KEY_PATTERN}")
    # Keys are scoped per operation, so one key sent to two routes stays two requests.
    scoped = f"{operation.__name__.strip('_')}:{key}"
    return deps.run_idempotently(operation, {"caller": caller, "key": scoped, "payload": payload})


@app.get("/health", summary="Liveness check", tags=["health"])
def health() -> Response[str]:
    if api_settings().simulate_failure:  # the rollback drill (dev only, see README)
        return _json(HTTPStatus.SERVICE_UNAVAILABLE, {"status": "failing", "message": "SIMULATE_FAILURE is set"})
    return _json(HTTPStatus.OK, {"status": "ok"})


@app.post("/items", summary="Create an item", tags=["items"], responses={201: {"description": "Created"}})
@tracer.capture_method
def create_item(payload: ItemIn) -> Response[str]:
    item = Item.model_validate(_once_per_key(_create, payload.model_dump()))
    metrics.add_metric(name="ItemCreated", unit=MetricUnit.Count, value=1)
    return _json(HTTPStatus.CREATED, item.model_dump_json(), headers={"Location": f"/items/{item.id}"})


@app.get("/items", summary="List items, newest first", tags=["items"])
@tracer.capture_method
def list_items(
    limit: Annotated[int, Query(ge=1, le=logic.MAX_PAGE_SIZE)] = logic.DEFAULT_PAGE_SIZE,
    next_token: Annotated[str | None, Query(max_length=2048)] = None,
) -> ItemPage:
    _caller()
    return logic.list_items(deps.repository(), deps.page_signer, limit, next_token)


@app.get("/items/<item_id>", summary="Read an item", tags=["items"])
@tracer.capture_method
def get_item(item_id: ItemId) -> Item:
    _caller()
    return logic.get_item(deps.repository(), item_id)


@app.put("/items/<item_id>", summary="Replace an item", tags=["items"])
@tracer.capture_method
def replace_item(item_id: ItemId, payload: ItemIn) -> Item:
    _caller()
    item = logic.replace_item(deps.repository(), item_id, payload)
    metrics.add_metric(name="ItemReplaced", unit=MetricUnit.Count, value=1)
    return item


@app.delete("/items/<item_id>", summary="Delete an item", tags=["items"], responses={204: {"description": "Deleted"}})
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
    responses={201: {"description": "Created", "content": {"application/json": {"model": IngestTicket}}}},
)
@tracer.capture_method
def start_ingest(payload: IngestRequest) -> Response[str]:
    ticket = IngestTicket.model_validate(_once_per_key(_start_ingest, payload.model_dump()))
    metrics.add_metric(name="UploadStarted", unit=MetricUnit.Count, value=1)
    return _json(HTTPStatus.CREATED, ticket.model_dump_json(), headers={"Location": f"/ingest/{ticket.id}"})


@app.get("/ingest/<ingest_id>", summary="Read an upload's status and outcome", tags=["ingest"])
@tracer.capture_method
def get_ingest(ingest_id: IngestId) -> IngestJob:
    return ingest_logic.get_ingest(deps.ingest_jobs(), ingest_id, caller=_caller())


@app.exception_handler(RequestValidationError)
def _invalid_request(error: RequestValidationError) -> Response[str]:
    problems = [
        {"location": ".".join(str(p) for p in e.get("loc", ())), "message": e.get("msg", "invalid value")}
        for e in error.errors()
    ]
    malformed = any(e.get("type") == "json_invalid" for e in error.errors())
    status = HTTPStatus.BAD_REQUEST if malformed else HTTPStatus.UNPROCESSABLE_ENTITY
    message = "request body is not valid JSON" if malformed else "request validation failed"
    return _json(status, {"message": message, "errors": problems})


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


def _too_large(event: dict[str, Any]) -> bool:
    body = event.get("body") or ""
    return len(body.encode() if isinstance(body, str) else body) > MAX_BODY_BYTES


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    deps.remember_context(context)
    if _too_large(event):
        return {
            "statusCode": HTTPStatus.REQUEST_ENTITY_TOO_LARGE.value,
            "headers": {"Content-Type": content_types.APPLICATION_JSON},
            "body": json.dumps({"message": f"request body exceeds {MAX_BODY_BYTES} bytes"}),
            "isBase64Encoded": False,
        }
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
