"""Post-deploy tests: run by the pipeline after each stage against the API it just deployed, as the test
identity the stage created (README, "Post-deploy tests").

The pipeline's smoke-test step sets API_URL and IDENTITY_SECRET_ARN from the stage's stack outputs and
DEPLOY_ENVIRONMENT; prod runs the subset that is not marked `not_in_prod`. Without API_URL (a developer
machine, `make test`) these tests are skipped; `make test` runs them against the local API itself.
pytest and the standard library, plus boto3 to read the identity's secret.
"""

import json
import os
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from tests.e2e.journey import Identity, Ledger, Session, identity_from, wait_until_accepted


@dataclass(frozen=True)
class HttpResponse:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


def send(request: urllib.request.Request) -> HttpResponse:
    try:
        with urllib.request.urlopen(request, timeout=15) as response:
            return HttpResponse(response.status, {k.lower(): v for k, v in response.headers.items()}, response.read())
    except urllib.error.HTTPError as error:
        return HttpResponse(error.code, {k.lower(): v for k, v in error.headers.items()}, error.read())


class Api:
    def __init__(self, base_url: str) -> None:
        self.base_url = base_url.rstrip("/")

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        headers: dict[str, str] | None = None,
        *,
        session: Session | None = None,
    ) -> HttpResponse:
        data = json.dumps(body).encode() if body is not None else None
        sent = {"Content-Type": "application/json", **(session.headers if session else {}), **(headers or {})}
        return send(urllib.request.Request(f"{self.base_url}{path}", data=data, method=method, headers=sent))


def deploy_environment() -> str:
    """dev, staging or prod in the pipeline; empty by hand and locally (the whole journey runs)."""
    return os.environ.get("DEPLOY_ENVIRONMENT", "")


def pytest_runtest_setup(item: pytest.Item) -> None:
    if item.get_closest_marker("not_in_prod") and deploy_environment() == "prod":
        pytest.skip("prod runs the read-only checks and one marked item's create and delete (README)")


@pytest.fixture(scope="session")
def api() -> Api:
    base_url = os.environ.get("API_URL")
    if not base_url:
        pytest.skip("API_URL is not set: smoke tests run against a deployed stage (the pipeline sets it)")
    return Api(base_url)


@pytest.fixture(scope="session")
def identity(api: Api) -> Identity:
    found = identity_from()
    if found is None:
        if deploy_environment():
            pytest.fail("the pipeline must pass IDENTITY_SECRET_ARN (the stage's SmokeTestIdentitySecretArn output)")
        pytest.skip("no identity: set IDENTITY_SECRET_ARN, or API_TOKEN (and API_KEY) to run the journey")
    wait_until_accepted(api.request, found)
    return found


@pytest.fixture(scope="session")
def run_id() -> str:
    return uuid.uuid4().hex[:12]


@pytest.fixture
def ledger(api: Api, identity: Identity, run_id: str, request: pytest.FixtureRequest) -> Iterator[Ledger]:
    """What the test creates; deleted afterwards whether the test passed or failed."""
    ledger = Ledger(api.request, identity, run_id, request.node.name.removeprefix("test_")[:40])
    yield ledger
    problems = ledger.clean_up()
    if problems:
        pytest.fail("the clean-up left something behind: " + "; ".join(problems))
