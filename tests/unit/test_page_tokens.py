"""List cursors are signed: only a cursor this API issued is accepted."""

import pytest

from items_runtime.errors import InvalidPageTokenError
from items_runtime.logic.page_tokens import PageTokenSigner

KEY = {"pk": {"S": "ITEM#1"}, "sk": {"S": "ITEM"}, "gsi1pk": {"S": "ITEM"}, "gsi1sk": {"S": "2026#1"}}


def test_a_cursor_round_trips() -> None:
    signer = PageTokenSigner(b"k" * 32)
    assert signer.decode(signer.encode(KEY)) == KEY


def test_a_cursor_is_url_safe() -> None:
    token = PageTokenSigner(b"k" * 32).encode(KEY)
    assert all(c.isalnum() or c in "-_." for c in token)


def test_a_cursor_signed_with_another_key_is_rejected() -> None:
    with pytest.raises(InvalidPageTokenError):
        PageTokenSigner(b"k" * 32).decode(PageTokenSigner(b"z" * 32).encode(KEY))


def test_a_tampered_cursor_is_rejected() -> None:
    signer = PageTokenSigner(b"k" * 32)
    _, mac = signer.encode(KEY).split(".")
    tampered = PageTokenSigner(b"k" * 32).encode({**KEY, "pk": {"S": "ITEM#2"}}).split(".")[0]
    with pytest.raises(InvalidPageTokenError):
        signer.decode(f"{tampered}.{mac}")


@pytest.mark.parametrize("token", ["", "no-dot", "a.b.c", "%%%.%%%", "e30.AAAA"])
def test_garbage_is_rejected(token: str) -> None:
    with pytest.raises(InvalidPageTokenError):
        PageTokenSigner(b"k" * 32).decode(token)


def test_a_signed_cursor_with_foreign_attributes_is_rejected() -> None:
    signer = PageTokenSigner(b"k" * 32)
    with pytest.raises(InvalidPageTokenError):
        signer.decode(signer.encode({"pk": {"S": "x"}}))


def test_a_short_key_is_refused() -> None:
    with pytest.raises(ValueError, match="at least 16 bytes"):
        PageTokenSigner(b"short")
