"""The ingest worker's AWS clients and stores, built on first use and replaceable in tests."""

from __future__ import annotations

from functools import cache
from typing import Any

import boto3
from botocore.config import Config

from ..data.chunk_queue import SqsChunkQueue
from ..data.jobs import DynamoDbJobStore
from ..data.uploads import S3UploadReader
from ..settings import worker_settings

# The worker has time to wait out throttles (SQS retries the message after that).
AWS_CLIENT_CONFIG = Config(retries={"mode": "standard", "max_attempts": 5}, connect_timeout=5, read_timeout=20)

_overrides: dict[str, Any] = {}


def use(*, jobs: Any = None, reader: Any = None, chunks: Any = None) -> None:
    """Replace collaborators (tests); call with no arguments to restore the defaults."""
    _overrides.clear()
    _overrides.update({k: v for k, v in {"jobs": jobs, "reader": reader, "chunks": chunks}.items() if v})


@cache
def _default_jobs() -> DynamoDbJobStore:
    return DynamoDbJobStore(boto3.client("dynamodb", config=AWS_CLIENT_CONFIG), worker_settings().ingest.table_name)


@cache
def _default_reader() -> S3UploadReader:
    return S3UploadReader(boto3.client("s3", config=AWS_CLIENT_CONFIG))


@cache
def _default_chunks() -> SqsChunkQueue:
    return SqsChunkQueue(boto3.client("sqs", config=AWS_CLIENT_CONFIG), worker_settings().import_queue_url)


def jobs() -> Any:
    return _overrides.get("jobs") or _default_jobs()


def reader() -> Any:
    return _overrides.get("reader") or _default_reader()


def chunks() -> Any:
    return _overrides.get("chunks") or _default_chunks()


def clear() -> None:
    for cached in (_default_jobs, _default_reader, _default_chunks, worker_settings):
        cached.cache_clear()
    use()
