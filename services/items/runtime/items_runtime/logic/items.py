"""The rules of items: create, read, list, replace, delete."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime

from ..data.items import ItemRepository
from ..errors import ItemNotFoundError
from ..models import Item, ItemIn, ItemPage
from .page_tokens import PageTokenSigner

MAX_PAGE_SIZE = 100
DEFAULT_PAGE_SIZE = 20


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def new_id() -> str:
    return uuid.uuid4().hex


def create_item(
    repository: ItemRepository,
    payload: ItemIn,
    *,
    caller: str,
    clock: Callable[[], str] = now,
    ids: Callable[[], str] = new_id,
) -> Item:
    timestamp = clock()
    item = Item(id=ids(), created_at=timestamp, updated_at=timestamp, created_by=caller, **payload.model_dump())
    repository.put_new(item)
    return item


def get_item(repository: ItemRepository, item_id: str) -> Item:
    item = repository.get(item_id)
    if item is None:
        raise ItemNotFoundError(item_id)
    return item


def replace_item(repository: ItemRepository, item_id: str, payload: ItemIn, *, clock: Callable[[], str] = now) -> Item:
    current = get_item(repository, item_id)
    updated = current.model_copy(update={**payload.model_dump(), "updated_at": clock()})
    if not repository.replace(updated):
        raise ItemNotFoundError(item_id)  # deleted between the read and the write
    return updated


def delete_item(repository: ItemRepository, item_id: str) -> None:
    if not repository.delete(item_id):
        raise ItemNotFoundError(item_id)


def list_items(
    repository: ItemRepository, signer: Callable[[], PageTokenSigner], limit: int, token: str | None
) -> ItemPage:
    start_key = signer().decode(token) if token else None
    items, last_key = repository.list_page(max(1, min(limit, MAX_PAGE_SIZE)), start_key)
    return ItemPage(items=items, next_token=signer().encode(last_key) if last_key else None)
