"""Before any traffic moves: invoke the new version with a synthetic event and check that its answer
holds every key and value of the expected response (e.g. {"statusCode": 200} for an API function)."""

import json
import os
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from .lifecycle import Verdict, client, logger, run_hook


def probe() -> Verdict:
    target = os.environ["TARGET_VERSION_ARN"]  # the version this deployment shifts traffic to
    expected = json.loads(os.environ["EXPECTED_RESPONSE"])
    response = client("lambda").invoke(
        FunctionName=target, InvocationType="RequestResponse", Payload=os.environ["PROBE_EVENT"].encode()
    )
    if response.get("FunctionError"):
        return Verdict(False, f"{target} raised ({response['FunctionError']}): {response['Payload'].read()[:500]!r}")
    try:
        answer = json.loads(response["Payload"].read())
    except ValueError:
        return Verdict(False, f"{target} did not answer JSON")
    if not isinstance(answer, dict):
        return Verdict(False, f"{target} answered {str(answer)[:200]}, expected an object with {expected}")
    differences = {key: answer.get(key) for key, value in expected.items() if answer.get(key) != value}
    if differences:
        return Verdict(False, f"{target} answered {differences}, expected {expected}")
    return Verdict(True, f"{target} answered {expected}")


@logger.inject_lambda_context
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, str]:
    return run_hook(event, probe)
