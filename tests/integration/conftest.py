"""Integration tests: the real handlers with real boto3 clients against moto on 127.0.0.1, whose
resources come from the synthesized dev template."""

import subprocess
from collections.abc import Iterator
from typing import Any

import pytest

from tests.synth_fixtures import Synthesized
from tools.emulator import ItemsResources, client_environment, create_items_resources, start_moto


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    server, endpoint = start_moto()
    yield endpoint
    server.terminate()
    try:
        server.wait(timeout=10)
    except subprocess.TimeoutExpired:  # a loaded machine: do not leave it behind
        server.kill()
        server.wait(timeout=10)


@pytest.fixture(scope="session")
def items_resources(synthesized: Synthesized, moto_endpoint: str) -> ItemsResources:
    return create_items_resources(moto_endpoint, synthesized.stage_template("dev"))


@pytest.fixture
def items_handler(items_resources: ItemsResources, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """The items handler wired to the emulated resources exactly as the stack wires it in AWS."""
    for name, value in {**items_resources.api_environment, **client_environment(items_resources.endpoint)}.items():
        monkeypatch.setenv(name, value)
    from items_runtime import api as handler
    from items_runtime import settings
    from items_runtime.wiring import api as dependencies  # after the environment: Metrics reads it at import

    caches = (
        settings.api_settings,
        dependencies._default_ingest_jobs,
        dependencies._s3_presigner,
        dependencies._dynamodb,
        dependencies._default_repository,
        dependencies._default_idempotency_store,
        dependencies.idempotency_config,
    )
    for cached in caches:
        cached.cache_clear()
    dependencies.use()
    yield handler
    for cached in caches:
        cached.cache_clear()


@pytest.fixture
def ingest_worker(items_resources: ItemsResources, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """The ingest worker's handler wired to the emulated resources exactly as the stack wires it."""
    for name, value in {**items_resources.worker_environment, **client_environment(items_resources.endpoint)}.items():
        monkeypatch.setenv(name, value)
    from items_runtime import worker as handler
    from items_runtime.wiring import worker as dependencies

    dependencies.clear()
    yield handler
    dependencies.clear()


@pytest.fixture
def ingest_importer(items_resources: ItemsResources, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """The importer's handler wired to the emulated resources exactly as the stack wires it."""
    for name, value in {
        **items_resources.importer_environment,
        **client_environment(items_resources.endpoint),
    }.items():
        monkeypatch.setenv(name, value)
    from items_runtime import importer as handler
    from items_runtime.wiring import importer as dependencies

    dependencies.clear()
    yield handler
    dependencies.clear()
