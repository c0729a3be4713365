"""What the API accepts as a request body, decided before anything parses it: the media type
(``application/json`` in any case, optionally ``charset=utf-8``) and a JSON parser with bounds, so no
body API Gateway can deliver (64 KiB here) reaches Python's parser as a recursion or a number too long
to convert, which would otherwise end as a 500."""

from __future__ import annotations

import json
import re
from typing import Any

JSON_MEDIA_TYPE = "application/json"
# Deeper than any request this API takes (its bodies are flat objects), far below Python's recursion limit.
MAX_DEPTH = 32
# Digits in one number: far more than any field takes, far below what int() converts (4300).
MAX_NUMBER_DIGITS = 64

# A JSON string (consumed possessively to its closing quote, or to the end when unterminated, so a
# body of many quotes is still scanned once), a bracket, or a run of digits outside strings.
_TOKENS = re.compile(r'"(?:[^"\\]++|\\.)*+"?|[\[\]{}]|[0-9]+', re.DOTALL)
_TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")


class UnsupportedMediaTypeError(ValueError):
    """The request body is not declared as JSON (or not as UTF-8 JSON)."""


def json_media_type(content_type: str | None) -> str:
    """The canonical media type of a JSON request body, or UnsupportedMediaTypeError.

    Media types are case-insensitive and may carry parameters (RFC 9110, 8.3.1); JSON is UTF-8
    (RFC 8259, 8.1), so the one parameter accepted is ``charset=utf-8``."""
    if not content_type or not content_type.strip():
        raise UnsupportedMediaTypeError("the request has no Content-Type")
    media_type, *parameters = content_type.split(";")
    if media_type.strip().lower() != JSON_MEDIA_TYPE:
        raise UnsupportedMediaTypeError(f"Content-Type {media_type.strip()[:100]!r} is not {JSON_MEDIA_TYPE}")
    for parameter in parameters:
        name, _, value = parameter.strip().partition("=")
        if not parameter.strip():
            continue
        if not _TOKEN.fullmatch(name) or name.lower() != "charset" or value.strip('"').lower() != "utf-8":
            raise UnsupportedMediaTypeError(f"Content-Type parameter {parameter.strip()[:100]!r}: only charset=utf-8")
    return JSON_MEDIA_TYPE


def _check_bounds(text: str) -> None:
    depth = 0
    for token in _TOKENS.finditer(text):
        first = text[token.start()]
        if first in "[{":
            depth += 1
            if depth > MAX_DEPTH:
                raise json.JSONDecodeError(f"nested deeper than {MAX_DEPTH} levels", text, token.start())
        elif first in "]}":
            depth -= 1
        elif first != '"' and token.end() - token.start() > MAX_NUMBER_DIGITS:
            raise json.JSONDecodeError(f"a number longer than {MAX_NUMBER_DIGITS} digits", text, token.start())


def _refuse_constant(name: str) -> Any:
    raise ValueError(name)


def _object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise ValueError(f"the key {key[:100]!r} appears twice in one object")
        result[key] = value
    return result


def loads(text: str | bytes) -> Any:
    """Parse a request body as strict JSON: bounded depth and number length, no NaN or Infinity (not
    JSON), and no key twice in one object (parsers disagree on which one wins: API Gateway's model
    validation could see one value and the handler the other). Every refusal is a JSONDecodeError."""
    if isinstance(text, bytes):
        text = text.decode("utf-8")
    _check_bounds(text)
    try:
        return json.loads(text, object_pairs_hook=_object, parse_constant=_refuse_constant)
    except json.JSONDecodeError:
        raise
    except ValueError as error:  # duplicate keys, NaN/Infinity: found while parsing, position unknown
        message = str(error) if "appears twice" in str(error) else f"{error} is not a JSON value"
        raise json.JSONDecodeError(message, text, 0) from None
