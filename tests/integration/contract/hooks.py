"""Schemathesis hooks of the contract run (tests/integration/test_contract.py)."""

import re
import uuid
from typing import Any

import schemathesis

IDEMPOTENCY_HEADER = "idempotency-key"
IDEMPOTENCY_KEY = re.compile(r"^[A-Za-z0-9_.:-]{8,128}$")


@schemathesis.hook
def before_call(context: schemathesis.HookContext, case: schemathesis.Case, kwargs: dict[str, Any]) -> None:
    """A client sends a new Idempotency-Key with each new request: the generator repeats short keys with
    other bodies, which the API rightly refuses (422) as a reused key. A valid key is made unique; an
    invalid one is sent as generated."""
    headers = case.headers or {}
    for name, value in list(headers.items()):
        if name.lower() == IDEMPOTENCY_HEADER and isinstance(value, str) and IDEMPOTENCY_KEY.match(value):
            headers[name] = f"{value[:95]}.{uuid.uuid4().hex}"
