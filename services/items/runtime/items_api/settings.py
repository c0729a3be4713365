"""Environment variables of the function, parsed once into a typed object."""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import cache


class SettingsError(RuntimeError):
    """A required environment variable is missing; the function is misconfigured."""


@dataclass(frozen=True)
class Settings:
    table_name: str
    list_index_name: str


@cache
def settings() -> Settings:
    missing = [name for name in ("TABLE_NAME", "LIST_INDEX_NAME") if not os.environ.get(name)]
    if missing:
        raise SettingsError(f"missing environment variables: {', '.join(missing)}")
    return Settings(table_name=os.environ["TABLE_NAME"], list_index_name=os.environ["LIST_INDEX_NAME"])
