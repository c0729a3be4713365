"""The ingest settings both functions read from their environment (the API signs upload URLs, the
worker reads and imports uploads)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import cache

from items_api.settings import SettingsError

from .layout import UPLOAD_PREFIX

__all__ = ["UPLOAD_PREFIX", "IngestSettings", "SettingsError", "ingest_settings"]
_REQUIRED = ("TABLE_NAME", "INGEST_BUCKET_NAME", "MAX_UPLOAD_BYTES", "MAX_RECORDS", "UPLOAD_URL_EXPIRY_SECONDS")


@dataclass(frozen=True)
class IngestSettings:
    table_name: str
    bucket_name: str
    max_upload_bytes: int
    max_records: int
    upload_url_expiry_seconds: int


@cache
def ingest_settings() -> IngestSettings:
    missing = [name for name in _REQUIRED if not os.environ.get(name)]
    if missing:
        raise SettingsError(f"missing environment variables: {', '.join(missing)}")
    return IngestSettings(
        table_name=os.environ["TABLE_NAME"],
        bucket_name=os.environ["INGEST_BUCKET_NAME"],
        max_upload_bytes=int(os.environ["MAX_UPLOAD_BYTES"]),
        max_records=int(os.environ["MAX_RECORDS"]),
        upload_url_expiry_seconds=int(os.environ["UPLOAD_URL_EXPIRY_SECONDS"]),
    )
