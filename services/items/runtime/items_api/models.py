"""Request and response shapes of the items API (the single source of the API's schemas)."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StrictInt, StringConstraints

ITEM_ID_PATTERN = r"^[0-9a-f]{32}$"
NAME_MAX_LENGTH = 200
DESCRIPTION_MAX_LENGTH = 2000
QUANTITY_MAX = 1_000_000
IDEMPOTENCY_KEY_PATTERN = r"^[A-Za-z0-9_.:-]{8,128}$"

Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=NAME_MAX_LENGTH)]
Description = Annotated[str, StringConstraints(max_length=DESCRIPTION_MAX_LENGTH)]
Quantity = Annotated[StrictInt, Field(ge=0, le=QUANTITY_MAX)]


class ItemIn(BaseModel):
    """What a client sends to create or replace an item."""

    model_config = ConfigDict(extra="forbid")

    name: Name
    description: Description = ""
    quantity: Quantity = 0


class Item(ItemIn):
    """An item as stored and returned."""

    id: str
    created_at: str
    updated_at: str
    created_by: str = ""


class ItemPage(BaseModel):
    items: list[Item]
    next_token: str | None = None


class ErrorBody(BaseModel):
    message: str
