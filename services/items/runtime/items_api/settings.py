"""Environment variables of the function, parsed once into a typed object."""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import cache

_REQUIRED = ("TABLE_NAME", "LIST_INDEX_NAME", "IDEMPOTENCY_TABLE_NAME", "PAGINATION_SECRET_ARN")


class SettingsError(RuntimeError):
    """A required environment variable is missing; the function is misconfigured."""


@dataclass(frozen=True)
class Settings:
    table_name: str
    list_index_name: str
    idempotency_table_name: str
    pagination_secret_arn: str
    cors_allowed_origins: tuple[str, ...]


@cache
def settings() -> Settings:
    missing = [name for name in _REQUIRED if not os.environ.get(name)]
    if missing:
        raise SettingsError(f"missing environment variables: {', '.join(missing)}")
    return Settings(
        table_name=os.environ["TABLE_NAME"],
        list_index_name=os.environ["LIST_INDEX_NAME"],
        idempotency_table_name=os.environ["IDEMPOTENCY_TABLE_NAME"],
        pagination_secret_arn=os.environ["PAGINATION_SECRET_ARN"],
        cors_allowed_origins=cors_origins(),
    )


def cors_origins() -> tuple[str, ...]:
    return tuple(o.strip() for o in os.environ.get("CORS_ALLOWED_ORIGINS", "").split(",") if o.strip())
