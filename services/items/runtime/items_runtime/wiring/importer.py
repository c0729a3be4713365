"""The importer's AWS clients and stores, built on first use and replaceable in tests."""

from __future__ import annotations

from functools import cache
from typing import Any

import boto3
from botocore.config import Config

from ..data.capacity import DynamoDbWriteCapacity
from ..data.chunk_queue import SqsChunkQueue
from ..data.item_writer import DynamoDbItemWriter
from ..data.jobs import DynamoDbJobStore
from ..data.uploads import S3UploadReader
from ..settings import importer_settings

# Throttled batch writes are retried by the writer itself (with jitter); the client retries a few times first.
AWS_CLIENT_CONFIG = Config(retries={"mode": "standard", "max_attempts": 3}, connect_timeout=5, read_timeout=20)

_overrides: dict[str, Any] = {}
_NAMES = ("jobs", "reader", "writer", "chunks", "capacity")


def use(**replacements: Any) -> None:
    """Replace collaborators (tests): jobs, reader, writer, chunks, capacity; none restores the defaults."""
    unknown = set(replacements) - set(_NAMES)
    if unknown:
        raise TypeError(f"no collaborator named {', '.join(sorted(unknown))}")
    _overrides.clear()
    _overrides.update({k: v for k, v in replacements.items() if v})


@cache
def _dynamodb() -> Any:
    return boto3.client("dynamodb", config=AWS_CLIENT_CONFIG)


@cache
def _default(name: str) -> Any:
    settings = importer_settings()
    if name == "jobs":
        return DynamoDbJobStore(_dynamodb(), settings.table_name)
    if name == "reader":
        return S3UploadReader(boto3.client("s3", config=AWS_CLIENT_CONFIG))
    if name == "writer":
        return DynamoDbItemWriter(_dynamodb(), settings.table_name)
    if name == "chunks":
        return SqsChunkQueue(boto3.client("sqs", config=AWS_CLIENT_CONFIG), settings.import_queue_url)
    return DynamoDbWriteCapacity(_dynamodb(), settings.table_name)


def get(name: str) -> Any:
    return _overrides.get(name) or _default(name)


def clear() -> None:
    for cached in (_default, _dynamodb, importer_settings):
        cached.cache_clear()
    use()
