"""`make openapi`: writes the items API's OpenAPI document (services/items/openapi.json) from the
handler's routes and models. API Gateway's request models are read from it (services/items/request_models.py)."""

import json
import sys

from services.items.asset import OPENAPI_DOCUMENT
from tools.lambda_assets import make_importable

TITLE = "Items API"
VERSION = "1.0.0"
DESCRIPTION = (
    "CRUD on items, and bulk import: POST /ingest returns a presigned URL to PUT a JSON Lines or CSV file "
    "of items to; the file is validated and imported whole or not at all, and GET /ingest/{ingest_id} "
    "tells the outcome. Every /items and /ingest route needs a Cognito access token (Authorization "
    "header): a signed-in user's, or a machine client's with the items/read scope (GET) or items/write "
    "(POST, PUT, DELETE); and, where the environment requires it, the usage plan's API key (X-Api-Key). "
    "POST accepts an Idempotency-Key header."
)


def render() -> str:
    make_importable()
    from items_runtime.api import app

    document = json.loads(app.get_openapi_json_schema(title=TITLE, version=VERSION, description=DESCRIPTION))
    # Key order is the handler's (field order of the models), which API Gateway's models keep too.
    return json.dumps(document, indent=2) + "\n"


def main() -> int:
    OPENAPI_DOCUMENT.write_text(render(), encoding="utf-8")
    print(f"wrote {OPENAPI_DOCUMENT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
