"""Integration tests: the real handlers with real boto3 clients against moto on 127.0.0.1, whose
resources come from the synthesized dev template."""

import subprocess
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.synth_fixtures import Synthesized
from tools.emulator import (
    ItemsResources,
    client_environment,
    create_items_resources,
    set_write_capacity,
    start_moto,
)
from tools.local_api import make_server, start_workers

TOKEN = "local-test-token"  # noqa: S105 - the local stand-in for a Cognito token
API_KEY = "local-test-api-key"


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


Handler = Callable[[dict[str, Any], Any], dict[str, Any]]


@pytest.fixture
def serve(
    ingest_worker: Any, ingest_importer: Any, items_resources: ItemsResources, synthesized: Synthesized
) -> Iterator[Callable[[Handler], str]]:
    """Serves a handler as the local API does (behind the dev template's API Gateway front door, the worker
    polling the ingest queue and the importer the import queue); returns its URL."""
    # Room for an upload's import: dev's 2 write units a second pace even one record over two seconds.
    set_write_capacity(items_resources.endpoint, items_resources.table_name, items_resources.list_index_name, 1_000)
    stops: list[Callable[[], None]] = []

    def start(handler: Handler) -> str:
        server = make_server(handler, TOKEN, synthesized.stage_template("dev"), api_key=API_KEY)
        thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        thread.start()
        queues = (items_resources.ingest_queue_url, items_resources.import_queue_url)
        stop_workers = start_workers(
            items_resources.endpoint,
            [
                (queue, function.lambda_handler, items_resources.batch_sizes[queue])
                for queue, function in zip(queues, (ingest_worker, ingest_importer), strict=True)
            ],
        )
        stops.extend([stop_workers, server.shutdown, lambda: thread.join(timeout=10)])
        host, port = server.server_address[:2]
        return f"http://{host}:{port}/api/"

    yield start
    for stop in stops:
        stop()


@pytest.fixture
def local_api(items_handler: Any, serve: Callable[[Handler], str]) -> str:
    return serve(items_handler.lambda_handler)
