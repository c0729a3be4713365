"""Unit tests run with sockets disabled: nothing here may touch a network."""

import os
from collections.abc import Iterator

import pytest
from pytest_socket import disable_socket, enable_socket


@pytest.fixture(autouse=True)
def _no_network() -> Iterator[None]:
    disable_socket()
    yield
    enable_socket()


# The function's environment, as the stack sets it; read when the handler module is imported.
FUNCTION_ENVIRONMENT = {
    "TABLE_NAME": "items-table",
    "LIST_INDEX_NAME": "gsi1",
    "IDEMPOTENCY_TABLE_NAME": "items-idempotency",
    "PAGINATION_SECRET_ARN": "arn:aws:secretsmanager:eu-west-1:111111111111:secret:items-pagination-AbCdEf",
    "INGEST_BUCKET_NAME": "dev-items-staging",
    "UPLOAD_PREFIX": "uploads/",
    "MAX_UPLOAD_BYTES": "1048576",
    "MAX_RECORDS": "99",
    "UPLOAD_URL_EXPIRY_SECONDS": "900",
    "AWS_LAMBDA_FUNCTION_NAME": "items-api",
    "CORS_ALLOWED_ORIGINS": "https://app.example.com,http://localhost:3000",
    "POWERTOOLS_SERVICE_NAME": "items",
    "POWERTOOLS_METRICS_NAMESPACE": "ServerlessPythonDelivery",
    "POWERTOOLS_TRACE_DISABLED": "true",
    "AWS_DEFAULT_REGION": "eu-west-1",
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
}


@pytest.fixture(autouse=True)
def _function_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in FUNCTION_ENVIRONMENT.items():
        monkeypatch.setenv(name, value)


for _name, _value in FUNCTION_ENVIRONMENT.items():
    os.environ.setdefault(_name, _value)
