"""Before any traffic moves: invoke the new version with a synthetic request and check the answer."""

import json
import os
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from .lifecycle import Verdict, client, logger, run_hook


def probe() -> Verdict:
    target = os.environ["TARGET_VERSION_ARN"]  # the version this deployment shifts traffic to
    expected_status = int(os.environ.get("EXPECTED_STATUS", "200"))
    response = client("lambda").invoke(
        FunctionName=target, InvocationType="RequestResponse", Payload=os.environ["PROBE_EVENT"].encode()
    )
    if response.get("FunctionError"):
        return Verdict(False, f"{target} raised ({response['FunctionError']}): {response['Payload'].read()[:500]!r}")
    try:
        answer = json.loads(response["Payload"].read())
    except ValueError:
        return Verdict(False, f"{target} did not answer JSON")
    status = answer.get("statusCode") if isinstance(answer, dict) else None
    if status != expected_status:
        return Verdict(False, f"{target} answered status {status}, expected {expected_status}")
    return Verdict(True, f"{target} answered {status}")


@logger.inject_lambda_context
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, str]:
    return run_hook(event, probe)
