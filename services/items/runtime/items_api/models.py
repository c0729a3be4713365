"""Request and response shapes of the items API."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StrictInt, StringConstraints

ITEM_ID_PATTERN = r"^[0-9a-f]{32}$"

Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Description = Annotated[str, StringConstraints(max_length=2000)]


class ItemIn(BaseModel):
    """What a client sends to create an item."""

    model_config = ConfigDict(extra="forbid")

    name: Name
    description: Description = ""
    quantity: Annotated[StrictInt, Field(ge=0, le=1_000_000)] = 0


class Item(ItemIn):
    """An item as stored and returned."""

    id: str
    created_at: str
    updated_at: str


class ItemPage(BaseModel):
    items: list[Item]
    next_token: str | None = None
