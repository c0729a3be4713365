"""What the items service's functions share: the code asset (the runtime directory holds the API and
the ingest worker packages) and the metrics namespace."""

from pathlib import Path

RUNTIME_DIR = Path(__file__).parent / "runtime"
METRICS_NAMESPACE = "ServerlessPythonDelivery"
