"""Request and response shapes of the items API (the single source of the API's schemas)."""

from __future__ import annotations

from typing import Annotated, Literal

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


IngestFormat = Literal["jsonl", "csv"]
IngestStatus = Literal["PENDING", "VALIDATING", "IMPORTING", "ACCEPTED", "REJECTED", "FAILED", "EXPIRED"]
# What a client sends as the upload's Content-Type (the presigned URL is signed for it).
INGEST_CONTENT_TYPES: dict[str, str] = {"jsonl": "application/x-ndjson", "csv": "text/csv"}


class IngestRequest(BaseModel):
    """What a client sends to start an upload: the file's format (JSON Lines or CSV with a header row)."""

    model_config = ConfigDict(extra="forbid")

    format: IngestFormat = "jsonl"


class UploadInstructions(BaseModel):
    url: str
    method: Literal["PUT"] = "PUT"
    headers: dict[str, str]
    expires_at: str


class IngestLimitsOut(BaseModel):
    max_bytes: int
    max_records: int


class IngestTicket(BaseModel):
    """The answer to POST /ingest: where to upload the file, until when, and within which limits."""

    id: str
    status: IngestStatus
    upload: UploadInstructions
    limits: IngestLimitsOut


class RecordError(BaseModel):
    """One problem of an invalid record: its line in the file (1 = the first line, the header in CSV), the
    field at fault (none when the record as a whole is unreadable) and why."""

    line: int
    field: str | None = None
    message: str


class IngestJob(BaseModel):
    """An upload and its outcome. PENDING until the file arrives; VALIDATING while the whole file is
    checked (nothing is written); IMPORTING while its chunks are written (`records` in the file,
    `imported` so far, `chunks_done` of `chunks_total`); then ACCEPTED (every record imported),
    REJECTED (nothing imported, `reason` and `errors` say why) or FAILED (a step failed every attempt:
    `reason` says what, `imported` what is in the table, `resume` how an operator resumes it). EXPIRED
    when the upload URL expired before a file arrived."""

    id: str
    status: IngestStatus
    format: IngestFormat
    created_at: str
    updated_at: str
    created_by: str = ""
    upload_expires_at: str
    records: int | None = None
    imported: int | None = None
    invalid_records: int | None = None
    chunks_total: int | None = None
    chunks_done: int | None = None
    reason: str | None = None
    resume: str | None = None
    errors: list[RecordError] = Field(default_factory=list)


class ErrorBody(BaseModel):
    message: str
