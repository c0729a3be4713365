"""The items service's Lambda asset and what the infrastructure and the runtime agree on: where the code
lives, each function's entry point, the metrics namespace, the key prefix of uploads, and the OpenAPI
document the runtime exports (API Gateway's request models come from it)."""

from pathlib import Path

RUNTIME_DIR = Path(__file__).parent / "runtime"
API_HANDLER = "items_runtime.api.lambda_handler"
WORKER_HANDLER = "items_runtime.worker.lambda_handler"
IMPORTER_HANDLER = "items_runtime.importer.lambda_handler"
METRICS_NAMESPACE = "ServerlessPythonDelivery"
# Uploads land under this prefix of the staging bucket (passed to both functions as UPLOAD_PREFIX).
UPLOAD_PREFIX = "uploads/"
OPENAPI_DOCUMENT = Path(__file__).parent / "openapi.json"


def runtime_environment(service: str, environment: str) -> dict[str, str]:
    """What every function of the asset runs with besides its own settings: Powertools' service,
    namespace and log level, and no pydantic plugin discovery (the asset uses none, and looking for them
    reads the metadata of every installed distribution at the first model of a cold start)."""
    return {
        "POWERTOOLS_SERVICE_NAME": service,
        "POWERTOOLS_METRICS_NAMESPACE": METRICS_NAMESPACE,
        "POWERTOOLS_LOG_LEVEL": "DEBUG" if environment == "dev" else "INFO",
        "PYDANTIC_DISABLE_PLUGINS": "__all__",
    }
