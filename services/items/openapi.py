"""Writes the items API's OpenAPI document from the handler's routes and models (`make openapi`)."""

import json
import sys
from pathlib import Path

OPENAPI_PATH = Path(__file__).parent / "openapi.json"
RUNTIME_DIR = Path(__file__).parent / "runtime"
TITLE = "Items API"
VERSION = "1.0.0"
DESCRIPTION = (
    "CRUD on items, and bulk import: POST /ingest returns a presigned URL to PUT a JSON Lines or CSV file "
    "of items to; the file is validated and imported whole or not at all, and GET /ingest/{ingest_id} "
    "tells the outcome. Every /items and /ingest route needs a Cognito ID token (Authorization header) "
    "and, where the environment requires it, the usage plan's API key (X-Api-Key). POST accepts an "
    "Idempotency-Key header."
)


def render() -> str:
    # The function's packages are top-level in the Lambda asset; import them the same way.
    if str(RUNTIME_DIR) not in sys.path:
        sys.path.insert(0, str(RUNTIME_DIR))
    from items_api.handler import app

    document = json.loads(app.get_openapi_json_schema(title=TITLE, version=VERSION, description=DESCRIPTION))
    return json.dumps(document, indent=2, sort_keys=True) + "\n"


def main() -> int:
    OPENAPI_PATH.write_text(render(), encoding="utf-8")
    print(f"wrote {OPENAPI_PATH}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
