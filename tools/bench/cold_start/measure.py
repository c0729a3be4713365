"""One cold start, in this fresh interpreter: import a handler and serve one event, as Lambda's init and
first invoke do. Prints the milliseconds from before the import to the answer (the interpreter's own
start-up excluded), and the import's share.

    python measure.py <scenario.json> <variant> [import-only]

The scenario (written by tools/bench/cold_start/scenarios.py) names the handler of each variant, the
directories to import from, the event and the keys the answer must hold."""

import json
import sys
import time
from importlib import import_module

with open(sys.argv[1], encoding="utf-8") as file:
    scenario = json.load(file)
variant = sys.argv[2]
sys.path[:0] = scenario["paths"]
module_name, _, attribute = scenario["handlers"][variant].partition(":")


class Context:
    """What a handler reads from Lambda's context object."""

    function_name = scenario["function_name"]
    function_version = "$LATEST"
    invoked_function_arn = f"arn:aws:lambda:eu-west-1:111111111111:function:{function_name}"
    memory_limit_in_mb = 1024
    aws_request_id = "c6af9ac6-7b61-11e6-9a41-93e812345678"
    log_group_name = f"/aws/lambda/{function_name}"
    log_stream_name = "2026/12/01/[$LATEST]bench"

    def get_remaining_time_in_millis(self) -> int:
        return 300_000


started = time.perf_counter()
handler = getattr(import_module(module_name), attribute)
imported = time.perf_counter()
if sys.argv[3:] == ["import-only"]:  # what tools/bench/cold_start/profile.py reads: the imports alone
    raise SystemExit(0)
answer = handler(scenario["event"], Context())
answered = time.perf_counter()

expected = scenario["expect"]
found = {key: answer.get(key) for key in expected} if isinstance(answer, dict) else answer
if found != expected:
    raise SystemExit(f"{variant}: expected {expected}, answered {str(answer)[:500]}")
print(json.dumps({"variant": variant, "ms": (answered - started) * 1000, "import_ms": (imported - started) * 1000}))
