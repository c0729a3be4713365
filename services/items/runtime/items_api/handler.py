"""Lambda entry point: parse the request, call the logic, map results and errors to responses."""

import json
import os
from functools import cache
from http import HTTPStatus
from typing import Annotated, Any

import boto3
from aws_lambda_powertools.event_handler import APIGatewayRestResolver, CORSConfig, Response, content_types
from aws_lambda_powertools.event_handler.exceptions import NotFoundError
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError
from aws_lambda_powertools.event_handler.openapi.params import Path, Query
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from . import logic
from .errors import InvalidPageTokenError, ItemNotFoundError, StorageUnavailableError
from .models import ITEM_ID_PATTERN, Item, ItemIn, ItemPage
from .observability import logger, metrics, tracer
from .repository import DynamoDbItemRepository, ItemRepository
from .settings import settings

MAX_BODY_BYTES = 64 * 1024


def _cors() -> CORSConfig:
    origins = [o.strip() for o in os.environ.get("CORS_ALLOWED_ORIGINS", "").split(",") if o.strip()]
    if not origins:
        return CORSConfig(allow_origin="", max_age=300)
    return CORSConfig(allow_origin=origins[0], extra_origins=origins[1:], max_age=300)


app = APIGatewayRestResolver(enable_validation=True, cors=_cors())


@cache
def _default_repository() -> ItemRepository:
    config = settings()
    return DynamoDbItemRepository(boto3.client("dynamodb"), config.table_name, config.list_index_name)


_repository_override: ItemRepository | None = None


def use_repository(repository: ItemRepository | None) -> None:
    """Replace the DynamoDB repository (tests, local runs); None restores the default."""
    global _repository_override
    _repository_override = repository


def repository() -> ItemRepository:
    return _repository_override or _default_repository()


def _json(status: HTTPStatus, body: dict[str, Any], headers: dict[str, str] | None = None) -> Response[str]:
    return Response(
        status_code=status.value,
        content_type=content_types.APPLICATION_JSON,
        body=json.dumps(body),
        headers=headers,
    )


@app.get("/health")
def health() -> dict[str, str]:
    return {"status": "ok"}


@app.post("/items")
@tracer.capture_method
def create_item(payload: ItemIn) -> Response[str]:
    item = logic.create_item(repository(), payload)
    metrics.add_metric(name="ItemCreated", unit=MetricUnit.Count, value=1)
    return Response(
        status_code=HTTPStatus.CREATED.value,
        content_type=content_types.APPLICATION_JSON,
        body=item.model_dump_json(),
        headers={"Location": f"/items/{item.id}"},
    )


@app.get("/items")
@tracer.capture_method
def list_items(
    limit: Annotated[int, Query(ge=1, le=logic.MAX_PAGE_SIZE)] = 20,
    next_token: Annotated[str | None, Query(max_length=2048)] = None,
) -> ItemPage:
    return logic.list_items(repository(), limit, next_token)


@app.get("/items/<item_id>")
@tracer.capture_method
def get_item(item_id: Annotated[str, Path(pattern=ITEM_ID_PATTERN)]) -> Item:
    return logic.get_item(repository(), item_id)


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


@app.exception_handler(ItemNotFoundError)
def _item_not_found(error: ItemNotFoundError) -> Response[str]:
    return _json(HTTPStatus.NOT_FOUND, {"message": str(error)})


@app.exception_handler(InvalidPageTokenError)
def _bad_token(error: InvalidPageTokenError) -> Response[str]:
    return _json(HTTPStatus.BAD_REQUEST, {"message": str(error)})


@app.exception_handler(StorageUnavailableError)
def _storage_unavailable(error: StorageUnavailableError) -> Response[str]:
    logger.warning("storage unavailable", extra={"reason": str(error)})
    return _json(
        HTTPStatus.SERVICE_UNAVAILABLE,
        {"message": "the service is busy, retry later"},
        headers={"Retry-After": str(error.retry_after_seconds)},
    )


@app.not_found
def _route_not_found(_: NotFoundError) -> Response[str]:
    return _json(HTTPStatus.NOT_FOUND, {"message": "no such route"})


@app.exception_handler(Exception)
def _unexpected(error: Exception) -> Response[str]:
    logger.exception("unhandled error")
    return _json(HTTPStatus.INTERNAL_SERVER_ERROR, {"message": "internal error"})


def _too_large(event: dict[str, Any]) -> bool:
    body = event.get("body") or ""
    return len(body.encode() if isinstance(body, str) else body) > MAX_BODY_BYTES


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    if _too_large(event):
        return {
            "statusCode": HTTPStatus.REQUEST_ENTITY_TOO_LARGE.value,
            "headers": {"Content-Type": content_types.APPLICATION_JSON},
            "body": json.dumps({"message": f"request body exceeds {MAX_BODY_BYTES} bytes"}),
            "isBase64Encoded": False,
        }
    return app.resolve(event, context)
