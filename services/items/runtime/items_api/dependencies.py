"""The function's collaborators, built on first use (keeps cold starts short) and replaceable in tests."""

from __future__ import annotations

from functools import cache
from typing import Any

import boto3
from aws_lambda_powertools.utilities import parameters
from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer, IdempotencyConfig
from aws_lambda_powertools.utilities.idempotency.persistence.base import BasePersistenceLayer
from botocore.config import Config

from .repository import DynamoDbItemRepository, ItemRepository
from .settings import settings
from .tokens import PageTokenSigner

SECRET_MAX_AGE_SECONDS = 300
# Retry throttles and transient errors with backoff inside the API's time budget, then give up
# (the handler answers 503 + Retry-After) rather than hold the request until API Gateway times out.
AWS_CLIENT_CONFIG = Config(retries={"mode": "standard", "max_attempts": 3}, connect_timeout=2, read_timeout=5)
IDEMPOTENCY_EXPIRY_SECONDS = 24 * 60 * 60

# The key is the caller plus their Idempotency-Key header, so one caller can never replay
# another caller's response; the payload is validated so a reused key with a new body is refused.
idempotency_config = IdempotencyConfig(
    event_key_jmespath="[caller, key]",
    payload_validation_jmespath="payload",
    raise_on_no_idempotency_key=True,
    expires_after_seconds=IDEMPOTENCY_EXPIRY_SECONDS,
)

_overrides: dict[str, Any] = {}


def use(
    *,
    repository: ItemRepository | None = None,
    signer: PageTokenSigner | None = None,
    idempotency_store: BasePersistenceLayer | None = None,
) -> None:
    """Replace collaborators (tests, local runs); call with no arguments to restore the defaults."""
    _overrides.clear()
    _overrides.update(
        {
            k: v
            for k, v in {"repository": repository, "signer": signer, "idempotency_store": idempotency_store}.items()
            if v
        }
    )


@cache
def _dynamodb() -> Any:
    return boto3.client("dynamodb", config=AWS_CLIENT_CONFIG)


@cache
def _default_repository() -> ItemRepository:
    config = settings()
    return DynamoDbItemRepository(_dynamodb(), config.table_name, config.list_index_name)


def repository() -> ItemRepository:
    return _overrides.get("repository") or _default_repository()


def page_signer() -> PageTokenSigner:
    if "signer" in _overrides:
        signer: PageTokenSigner = _overrides["signer"]
        return signer
    # Powertools caches the secret for SECRET_MAX_AGE_SECONDS; a rotated key takes effect after that.
    secret = parameters.get_secret(settings().pagination_secret_arn, transform="json", max_age=SECRET_MAX_AGE_SECONDS)
    return PageTokenSigner(str(secret["pagination_key"]).encode())


@cache
def _default_idempotency_store() -> BasePersistenceLayer:
    return DynamoDBPersistenceLayer(table_name=settings().idempotency_table_name, boto3_client=_dynamodb())


def idempotency_store() -> BasePersistenceLayer:
    store: BasePersistenceLayer = _overrides.get("idempotency_store") or _default_idempotency_store()
    return store
