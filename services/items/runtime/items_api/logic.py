"""Business rules of the items API, independent of HTTP and of DynamoDB."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime

from .errors import ItemNotFoundError
from .models import Item, ItemIn, ItemPage
from .repository import ItemRepository

MAX_PAGE_SIZE = 100


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def _new_id() -> str:
    return uuid.uuid4().hex


def create_item(
    repository: ItemRepository,
    payload: ItemIn,
    now: Callable[[], str] = _now,
    new_id: Callable[[], str] = _new_id,
) -> Item:
    timestamp = now()
    item = Item(id=new_id(), created_at=timestamp, updated_at=timestamp, **payload.model_dump())
    repository.put_new(item)
    return item


def get_item(repository: ItemRepository, item_id: str) -> Item:
    item = repository.get(item_id)
    if item is None:
        raise ItemNotFoundError(item_id)
    return item


def list_items(repository: ItemRepository, limit: int, token: str | None) -> ItemPage:
    items, next_token = repository.list_page(max(1, min(limit, MAX_PAGE_SIZE)), token)
    return ItemPage(items=items, next_token=next_token)
