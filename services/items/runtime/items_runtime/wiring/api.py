"""The function's collaborators, built on first use and replaceable in tests.

Idempotency and parameters are imported only by the requests that use them (a create with an
Idempotency-Key, a list with a cursor), so other requests do not pay for them at cold start."""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import TYPE_CHECKING, Any

import boto3
from botocore.config import Config

from ..data.items import DynamoDbItemRepository, ItemRepository
from ..errors import IdempotencyInProgressError, IdempotencyKeyReusedError, StorageUnavailableError
from ..logic.ingest import IngestJobs, UploadSigner
from ..logic.page_tokens import PageTokenSigner
from ..settings import api_settings

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.idempotency import IdempotencyConfig
    from aws_lambda_powertools.utilities.idempotency.persistence.base import BasePersistenceLayer

SECRET_MAX_AGE_SECONDS = 300
IDEMPOTENCY_EXPIRY_SECONDS = 24 * 60 * 60
# Retry throttles and transient errors with backoff inside the API's time budget, then give up
# (the handler answers 503 + Retry-After) rather than hold the request until API Gateway times out.
AWS_CLIENT_CONFIG = Config(retries={"mode": "standard", "max_attempts": 3}, connect_timeout=2, read_timeout=5)

_overrides: dict[str, Any] = {}
_lambda_context: list[Any] = []


def use(
    *,
    repository: ItemRepository | None = None,
    signer: PageTokenSigner | None = None,
    idempotency_store: BasePersistenceLayer | None = None,
    ingest_jobs: IngestJobs | None = None,
    upload_signer: UploadSigner | None = None,
) -> None:
    """Replace collaborators (tests, local runs); call with no arguments to restore the defaults."""
    replacements = {
        "repository": repository,
        "signer": signer,
        "idempotency_store": idempotency_store,
        "ingest_jobs": ingest_jobs,
        "upload_signer": upload_signer,
    }
    _overrides.clear()
    _overrides.update({k: v for k, v in replacements.items() if v})


def remember_context(context: Any) -> None:
    """Idempotency needs the invocation's remaining time to expire in-progress records correctly."""
    _lambda_context[:] = [context]


@cache
def _dynamodb() -> Any:
    return boto3.client("dynamodb", config=AWS_CLIENT_CONFIG)


@cache
def _default_repository() -> ItemRepository:
    config = api_settings()
    return DynamoDbItemRepository(_dynamodb(), config.table_name, config.list_index_name)


def repository() -> ItemRepository:
    return _overrides.get("repository") or _default_repository()


@cache
def _default_ingest_jobs() -> IngestJobs:
    from ..data.jobs import DynamoDbJobStore

    return DynamoDbJobStore(_dynamodb(), api_settings().table_name)


def ingest_jobs() -> IngestJobs:
    jobs: IngestJobs = _overrides.get("ingest_jobs") or _default_ingest_jobs()
    return jobs


@cache
def _s3_presigner() -> Any:
    # Virtual-hosted regional URLs (bucket.s3.<region>.amazonaws.com): the global endpoint can redirect
    # a new bucket's requests, which breaks a signed PUT; a local endpoint (AWS_ENDPOINT_URL) is path-style.
    addressing = "path" if api_settings().local_endpoint else "virtual"
    return boto3.client("s3", config=Config(signature_version="s3v4", s3={"addressing_style": addressing}))


def upload_signer() -> UploadSigner:
    if "upload_signer" in _overrides:
        signer: UploadSigner = _overrides["upload_signer"]
        return signer
    bucket, client = api_settings().ingest.bucket_name, _s3_presigner()

    def sign(key: str, content_type: str, expires_in: int) -> str:
        url: str = client.generate_presigned_url(
            "put_object",
            Params={"Bucket": bucket, "Key": key, "ContentType": content_type},
            ExpiresIn=expires_in,
            HttpMethod="PUT",
        )
        return url

    return sign


def page_signer() -> PageTokenSigner:
    if "signer" in _overrides:
        signer: PageTokenSigner = _overrides["signer"]
        return signer
    from aws_lambda_powertools.utilities import parameters

    # Powertools caches the secret for SECRET_MAX_AGE_SECONDS; a rotated key takes effect after that.
    secret = parameters.get_secret(
        api_settings().pagination_secret_arn, transform="json", max_age=SECRET_MAX_AGE_SECONDS
    )
    return PageTokenSigner(str(secret["pagination_key"]).encode())


@cache
def idempotency_config() -> IdempotencyConfig:
    from aws_lambda_powertools.utilities.idempotency import IdempotencyConfig

    # The key is the caller plus their Idempotency-Key header, so one caller can never replay another
    # caller's response; the payload is validated so a reused key with a new body is refused.
    return IdempotencyConfig(
        event_key_jmespath="[caller, key]",
        payload_validation_jmespath="payload",
        raise_on_no_idempotency_key=True,
        expires_after_seconds=IDEMPOTENCY_EXPIRY_SECONDS,
    )


@cache
def _default_idempotency_store() -> BasePersistenceLayer:
    from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer

    return DynamoDBPersistenceLayer(table_name=api_settings().idempotency_table_name, boto3_client=_dynamodb())


def idempotency_store() -> BasePersistenceLayer:
    store: BasePersistenceLayer = _overrides.get("idempotency_store") or _default_idempotency_store()
    return store


def run_idempotently(function: Callable[[dict[str, Any]], dict[str, Any]], request: dict[str, Any]) -> dict[str, Any]:
    """Run `function(request)` once per (caller, key): a retry gets the first result back. Powertools'
    errors become domain errors, which the handler maps to responses with all the others."""
    from aws_lambda_powertools.utilities.idempotency import idempotent_function
    from aws_lambda_powertools.utilities.idempotency.exceptions import (
        IdempotencyAlreadyInProgressError,
        IdempotencyPersistenceLayerError,
        IdempotencyValidationError,
    )

    config = idempotency_config()
    if _lambda_context:
        config.register_lambda_context(_lambda_context[0])
    wrapped = idempotent_function(
        data_keyword_argument="request", persistence_store=idempotency_store(), config=config
    )(function)
    try:
        result: dict[str, Any] = wrapped(request=request)
    except IdempotencyValidationError:
        raise IdempotencyKeyReusedError from None
    except IdempotencyAlreadyInProgressError:
        raise IdempotencyInProgressError from None
    except IdempotencyPersistenceLayerError as error:
        raise StorageUnavailableError(str(error)) from error
    return result
