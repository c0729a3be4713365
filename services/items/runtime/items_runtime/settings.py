"""The environment each function is configured with, parsed once into one typed object per function.
The stack sets these variables (services/items/asset.py names them); nothing else reads the environment."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache


class SettingsError(RuntimeError):
    """A required environment variable is missing; the function is misconfigured."""


def _required(environ: Mapping[str, str], *names: str) -> dict[str, str]:
    missing = [name for name in names if not environ.get(name)]
    if missing:
        raise SettingsError(f"missing environment variables: {', '.join(missing)}")
    return {name: environ[name] for name in names}


@dataclass(frozen=True)
class IngestSettings:
    """Uploads: where they land and how large they may be (the API signs upload URLs, the worker imports)."""

    table_name: str
    bucket_name: str
    upload_prefix: str
    max_upload_bytes: int
    max_records: int
    upload_url_expiry_seconds: int

    @classmethod
    def from_environment(cls, environ: Mapping[str, str]) -> IngestSettings:
        values = _required(
            environ,
            "TABLE_NAME",
            "INGEST_BUCKET_NAME",
            "UPLOAD_PREFIX",
            "MAX_UPLOAD_BYTES",
            "MAX_RECORDS",
            "UPLOAD_URL_EXPIRY_SECONDS",
        )
        return cls(
            table_name=values["TABLE_NAME"],
            bucket_name=values["INGEST_BUCKET_NAME"],
            upload_prefix=values["UPLOAD_PREFIX"],
            max_upload_bytes=int(values["MAX_UPLOAD_BYTES"]),
            max_records=int(values["MAX_RECORDS"]),
            upload_url_expiry_seconds=int(values["UPLOAD_URL_EXPIRY_SECONDS"]),
        )


@dataclass(frozen=True)
class ApiSettings:
    """The items API function."""

    table_name: str
    list_index_name: str
    idempotency_table_name: str
    pagination_secret_arn: str
    cors_allowed_origins: tuple[str, ...]
    ingest: IngestSettings
    # The rollback drill (dev only): GET /health answers 503 so the pre-traffic hook fails the deployment.
    simulate_failure: bool
    # A local endpoint (moto, the local API) serves S3 path-style; AWS is addressed virtual-hosted.
    local_endpoint: bool

    @classmethod
    def from_environment(cls, environ: Mapping[str, str]) -> ApiSettings:
        values = _required(environ, "TABLE_NAME", "LIST_INDEX_NAME", "IDEMPOTENCY_TABLE_NAME", "PAGINATION_SECRET_ARN")
        return cls(
            table_name=values["TABLE_NAME"],
            list_index_name=values["LIST_INDEX_NAME"],
            idempotency_table_name=values["IDEMPOTENCY_TABLE_NAME"],
            pagination_secret_arn=values["PAGINATION_SECRET_ARN"],
            cors_allowed_origins=cors_origins(environ),
            ingest=IngestSettings.from_environment(environ),
            simulate_failure=environ.get("SIMULATE_FAILURE") == "true",
            local_endpoint=bool(environ.get("AWS_ENDPOINT_URL")),
        )


@dataclass(frozen=True)
class SourceQueue:
    """The queue a function's event source reads: after how many receives a message goes to its
    dead-letter queue, and which that is (a job whose message fails its last attempt says so)."""

    max_receive_count: int
    dead_letter_queue_arn: str

    @classmethod
    def from_environment(cls, environ: Mapping[str, str], prefix: str) -> SourceQueue:
        count, arn = f"{prefix}_MAX_RECEIVE_COUNT", f"{prefix}_DEAD_LETTER_QUEUE_ARN"
        values = _required(environ, count, arn)
        return cls(int(values[count]), values[arn])


@dataclass(frozen=True)
class WorkerSettings:
    """The ingest worker function (phase 1: validate an upload, send its chunks)."""

    ingest: IngestSettings
    chunk_records: int
    import_queue_url: str
    source: SourceQueue

    @classmethod
    def from_environment(cls, environ: Mapping[str, str]) -> WorkerSettings:
        values = _required(environ, "CHUNK_RECORDS", "IMPORT_QUEUE_URL")
        return cls(
            ingest=IngestSettings.from_environment(environ),
            chunk_records=int(values["CHUNK_RECORDS"]),
            import_queue_url=values["IMPORT_QUEUE_URL"],
            source=SourceQueue.from_environment(environ, "INGEST"),
        )


@dataclass(frozen=True)
class ImporterSettings:
    """The importer function (phase 2: write one chunk's items, paced to a share of the table's capacity)."""

    table_name: str
    bucket_name: str
    import_queue_url: str
    # The import's share of the table's write capacity, split between at most this many importers.
    write_share: float
    max_concurrency: int
    source: SourceQueue

    @classmethod
    def from_environment(cls, environ: Mapping[str, str]) -> ImporterSettings:
        values = _required(
            environ,
            "TABLE_NAME",
            "INGEST_BUCKET_NAME",
            "IMPORT_QUEUE_URL",
            "IMPORT_WRITE_SHARE",
            "IMPORT_MAX_CONCURRENCY",
        )
        return cls(
            table_name=values["TABLE_NAME"],
            bucket_name=values["INGEST_BUCKET_NAME"],
            import_queue_url=values["IMPORT_QUEUE_URL"],
            write_share=float(values["IMPORT_WRITE_SHARE"]),
            max_concurrency=int(values["IMPORT_MAX_CONCURRENCY"]),
            source=SourceQueue.from_environment(environ, "IMPORT"),
        )


def cors_origins(environ: Mapping[str, str] = os.environ) -> tuple[str, ...]:
    """The allowed CORS origins; read on its own because the API's router is built at import time."""
    return tuple(o.strip() for o in environ.get("CORS_ALLOWED_ORIGINS", "").split(",") if o.strip())


@cache
def api_settings() -> ApiSettings:
    return ApiSettings.from_environment(os.environ)


@cache
def worker_settings() -> WorkerSettings:
    return WorkerSettings.from_environment(os.environ)


@cache
def importer_settings() -> ImporterSettings:
    return ImporterSettings.from_environment(os.environ)
