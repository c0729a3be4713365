"""Post-deploy smoke tests: run by the pipeline after each stage against the API it just deployed.

The pipeline's smoke-test step sets API_URL from the stage's `ApiUrl` stack output. Without it
(a developer machine, `make test`) these tests are skipped. Standard library + pytest only.
"""

import json
import os
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any

import pytest


@dataclass(frozen=True)
class HttpResponse:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


class Api:
    def __init__(self, base_url: str) -> None:
        self.base_url = base_url.rstrip("/")

    def request(self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None) -> HttpResponse:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(
            f"{self.base_url}{path}",
            data=data,
            method=method,
            headers={"Content-Type": "application/json", **(headers or {})},
        )
        try:
            with urllib.request.urlopen(request, timeout=15) as response:
                return HttpResponse(
                    response.status, {k.lower(): v for k, v in response.headers.items()}, response.read()
                )
        except urllib.error.HTTPError as error:
            return HttpResponse(error.code, {k.lower(): v for k, v in error.headers.items()}, error.read())


@pytest.fixture(scope="session")
def api() -> Api:
    base_url = os.environ.get("API_URL")
    if not base_url:
        pytest.skip("API_URL is not set: smoke tests run against a deployed stage (the pipeline sets it)")
    return Api(base_url)
