"""One cold start: import a handler in this fresh interpreter and serve GET /items/{id} once.
Prints the milliseconds from before the import to the response (interpreter start-up excluded)."""

import json
import sys
import time

t0 = time.perf_counter()
variant = sys.argv[1]
if variant == "ours":
    from tools.lambda_assets import make_importable

    make_importable()
    from items_runtime.api import lambda_handler
elif variant == "limit":
    from tools.bench.cold_start.bare_items import lambda_handler  # type: ignore[no-redef]
else:
    from tools.bench.cold_start.peer_items import lambda_handler  # type: ignore[no-redef]

from tools.events import FakeLambdaContext, rest_event  # noqa: E402  (cheap: stdlib only)

item_id = sys.argv[2]
event = rest_event(
    "GET",
    f"/items/{item_id}",
    resource="/items/{item_id}",
    path_parameters={"item_id": item_id},
    claims={"sub": "bench-user"},
)
response = lambda_handler(event, FakeLambdaContext())
elapsed_ms = (time.perf_counter() - t0) * 1000
if response["statusCode"] != 200:
    raise SystemExit(f"{variant}: status {response['statusCode']}: {response.get('body')}")
print(json.dumps({"variant": variant, "ms": elapsed_ms}))
