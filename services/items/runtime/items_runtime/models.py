"""Request and response shapes of the items API (the single source of the API's schemas)."""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, StrictInt

ITEM_ID_PATTERN = r"^[0-9a-f]{32}$"
NAME_MAX_LENGTH = 200
DESCRIPTION_MAX_LENGTH = 2000
QUANTITY_MAX = 1_000_000
IDEMPOTENCY_KEY_PATTERN = r"^[A-Za-z0-9_.:-]{8,128}$"
# A list cursor as this API issues it: base64url payload "." base64url HMAC-SHA256 (43 characters).
CURSOR_PATTERN = r"^[A-Za-z0-9_-]{1,2000}\.[A-Za-z0-9_-]{43}$"
CURSOR_MAX_LENGTH = 2048

# Text rules, one set for the handler and the documents (OpenAPI, API Gateway's models): the patterns
# below are what the handler checks, written with \uXXXX escapes only, so that ECMA-262, Java (API
# Gateway) and Python read them alike; `(?![\s\S])` ends the text where `$` would also allow a final
# line break in Java and Python.
# Control characters (C0, DEL, C1): never in a text field. (Nor is a lone surrogate, which no valid
# Unicode text holds and pydantic refuses; it is left out of the patterns, since an ECMA-262 regex without
# the `u` flag sees every character beyond U+FFFF as two surrogates.)
CONTROL_CHARACTERS = ((0x0000, 0x001F), (0x007F, 0x009F))
# Characters that show nothing by themselves: white space, zero-width and joiner characters,
# direction marks, fillers, variation selectors, the byte-order mark.
INVISIBLE_CHARACTERS = (
    (0x0020, 0x0020),
    (0x00A0, 0x00A0),
    (0x00AD, 0x00AD),
    (0x034F, 0x034F),
    (0x061C, 0x061C),
    (0x115F, 0x1160),
    (0x1680, 0x1680),
    (0x17B4, 0x17B5),
    (0x180B, 0x180F),
    (0x2000, 0x200F),
    (0x2028, 0x202F),
    (0x205F, 0x206F),
    (0x2800, 0x2800),
    (0x3000, 0x3000),
    (0x3164, 0x3164),
    (0xFE00, 0xFE0F),
    (0xFEFF, 0xFEFF),
    (0xFFA0, 0xFFA0),
)
# A description may hold line breaks and tabs.
DESCRIPTION_ALLOWED_CONTROLS = "\t\n\r"


def _character_class(ranges: tuple[tuple[int, int], ...], *, allow: str = "") -> str:
    parts = []
    for low, high in ranges:
        for excluded in sorted(ord(c) for c in allow if low <= ord(c) <= high):
            if low < excluded:
                parts.append((low, excluded - 1))
            low = excluded + 1
        if low <= high:
            parts.append((low, high))
    return "".join(f"\\u{a:04x}" if a == b else f"\\u{a:04x}-\\u{b:04x}" for a, b in parts)


_NAME_CONTROLS = _character_class(CONTROL_CHARACTERS)
_TEXT_CONTROLS = _character_class(CONTROL_CHARACTERS, allow=DESCRIPTION_ALLOWED_CONTROLS)
_INVISIBLE = _character_class(INVISIBLE_CHARACTERS) + _character_class(
    tuple((ord(c), ord(c)) for c in DESCRIPTION_ALLOWED_CONTROLS)
)
# At least one visible character, no control character.
NAME_PATTERN = rf"^[^{_NAME_CONTROLS}]*[^{_NAME_CONTROLS}{_INVISIBLE}][^{_NAME_CONTROLS}]*(?![\s\S])"
# Empty, or at least one visible character; line breaks and tabs are the only control characters.
DESCRIPTION_PATTERN = rf"^(?:[^{_TEXT_CONTROLS}]*[^{_TEXT_CONTROLS}{_INVISIBLE}][^{_TEXT_CONTROLS}]*)?(?![\s\S])"
_NAME = re.compile(NAME_PATTERN)
_DESCRIPTION = re.compile(DESCRIPTION_PATTERN)


def _name(value: str) -> str:
    if not _NAME.search(value):
        raise ValueError("a name needs a visible character and may hold no control character")
    return value.strip()


def _description(value: str) -> str:
    if not _DESCRIPTION.search(value):
        raise ValueError(
            "a description is empty or holds a visible character, and holds no control character "
            "other than tab and line breaks"
        )
    return value


Name = Annotated[
    str,
    Field(
        min_length=1,
        max_length=NAME_MAX_LENGTH,
        description="At least one visible character and no control character (valid Unicode: no lone "
        "surrogate); leading and trailing white space is removed before the item is stored.",
        json_schema_extra={"pattern": NAME_PATTERN},
    ),
    AfterValidator(_name),
]
Description = Annotated[
    str,
    Field(
        max_length=DESCRIPTION_MAX_LENGTH,
        description="Empty, or at least one visible character; tab and line breaks are the only control "
        "characters allowed (valid Unicode: no lone surrogate).",
        json_schema_extra={"pattern": DESCRIPTION_PATTERN},
    ),
    AfterValidator(_description),
]


def _whole_number(value: Any) -> Any:
    """117.0 and 1.17e2 are the integer 117 in JSON Schema 2020-12 (the OpenAPI document's dialect); a
    fraction, a string or a boolean stays what it is and fails StrictInt."""
    if isinstance(value, float) and value.is_integer() and abs(value) <= 2**53:
        return int(value)
    return value


Quantity = Annotated[
    StrictInt,
    Field(ge=0, le=QUANTITY_MAX, description="A whole number (117, 117.0 and 1.17e2 are the same number)."),
    BeforeValidator(_whole_number),
]


class _Model(BaseModel):
    """Built at first use, not at import: a cold start builds only the models its route needs."""

    model_config = ConfigDict(defer_build=True)


class ItemIn(_Model):
    """What a client sends to create or replace an item."""

    model_config = ConfigDict(extra="forbid")

    name: Name
    description: Description = ""
    quantity: Quantity = 0


class Item(_Model):
    """An item as stored and returned."""

    name: str
    description: str = ""
    quantity: int = 0
    id: str
    created_at: str
    updated_at: str
    created_by: str = ""


class ItemPage(_Model):
    items: list[Item]
    next_token: str | None = None


IngestFormat = Literal["jsonl", "csv"]
IngestStatus = Literal["PENDING", "VALIDATING", "IMPORTING", "ACCEPTED", "REJECTED", "FAILED", "EXPIRED"]
# What a client sends as the upload's Content-Type (the presigned URL is signed for it).
INGEST_CONTENT_TYPES: dict[str, str] = {"jsonl": "application/x-ndjson", "csv": "text/csv"}


class IngestRequest(_Model):
    """What a client sends to start an upload: the file's format (JSON Lines or CSV with a header row)."""

    model_config = ConfigDict(extra="forbid")

    format: IngestFormat = "jsonl"


class UploadInstructions(_Model):
    url: str
    method: Literal["PUT"] = "PUT"
    headers: dict[str, str]
    expires_at: str


class IngestLimitsOut(_Model):
    max_bytes: int
    max_records: int


class IngestTicket(_Model):
    """The answer to POST /ingest: where to upload the file, until when, and within which limits."""

    id: str
    status: IngestStatus
    upload: UploadInstructions
    limits: IngestLimitsOut


class RecordError(_Model):
    """One problem of an invalid record: its line in the file (1 = the first line, the header in CSV), the
    field at fault (none when the record as a whole is unreadable) and why."""

    line: int
    field: str | None = None
    message: str


class IngestJob(_Model):
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


class Health(_Model):
    status: Literal["ok"]


class HealthFailing(_Model):
    status: Literal["failing"]
    message: str


class FieldError(_Model):
    """One invalid field or parameter: where (`body.name`, `query.limit`, `header.Idempotency-Key`) and why."""

    location: str
    message: str


class ErrorBody(_Model):
    """Every error answer, the handler's and API Gateway's alike; `errors` only with a 422 of invalid fields."""

    message: str
    errors: list[FieldError] = Field(default_factory=list)
