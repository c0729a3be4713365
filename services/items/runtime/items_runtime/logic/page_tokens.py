"""Opaque, signed list cursors: a client can hand back only a cursor this API issued."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from typing import Any

from ..errors import InvalidPageTokenError

_KEY_ATTRIBUTES = frozenset({"pk", "sk", "gsi1pk", "gsi1sk"})


class PageTokenSigner:
    def __init__(self, key: bytes) -> None:
        if len(key) < 16:
            raise ValueError("the pagination key must be at least 16 bytes")
        self._key = key

    def encode(self, last_key: dict[str, Any]) -> str:
        payload = json.dumps(last_key, sort_keys=True, separators=(",", ":")).encode()
        return f"{_b64(payload)}.{_b64(self._mac(payload))}"

    def decode(self, token: str) -> dict[str, Any]:
        try:
            payload_part, mac_part = token.split(".")
            payload = base64.urlsafe_b64decode(_padded(payload_part))
            mac = base64.urlsafe_b64decode(_padded(mac_part))
        except (ValueError, binascii.Error):
            raise InvalidPageTokenError("next_token is not a token this API issued") from None
        if not hmac.compare_digest(mac, self._mac(payload)):
            raise InvalidPageTokenError("next_token is not a token this API issued")
        value = json.loads(payload)
        if not isinstance(value, dict) or set(value) != _KEY_ATTRIBUTES:
            raise InvalidPageTokenError("next_token is not a token this API issued")
        return value

    def _mac(self, payload: bytes) -> bytes:
        return hmac.new(self._key, payload, hashlib.sha256).digest()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _padded(text: str) -> bytes:
    return (text + "=" * (-len(text) % 4)).encode()
