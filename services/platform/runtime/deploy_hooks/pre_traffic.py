"""Before any traffic moves: invoke the new version with a synthetic event and check that its answer
holds every key and value of the expected response (e.g. {"statusCode": 200} for an API function).
Then start the synthetic traffic that keeps the new version's alarms fed through the alias while
CodeDeploy shifts (an invocation of the version itself leaves them empty)."""

import json
import os
import time
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from .lifecycle import HookEvent, Verdict, client, logger, run_hook


def probe(target: dict[str, Any]) -> Verdict:
    version = target["version_arn"]  # the version this deployment shifts traffic to
    expected = target["expected_response"]
    response = client("lambda").invoke(
        FunctionName=version,
        InvocationType="RequestResponse",
        Payload=json.dumps(target["probe_event"], sort_keys=True, separators=(",", ":")).encode(),
    )
    if response.get("FunctionError"):
        return Verdict(False, f"{version} raised ({response['FunctionError']}): {response['Payload'].read()[:500]!r}")
    try:
        answer = json.loads(response["Payload"].read())
    except ValueError:
        return Verdict(False, f"{version} did not answer JSON")
    if not isinstance(answer, dict):
        return Verdict(False, f"{version} answered {str(answer)[:200]}, expected an object with {expected}")
    differences = {key: answer.get(key) for key, value in expected.items() if answer.get(key) != value}
    if differences:
        return Verdict(False, f"{version} answered {differences}, expected {expected}")
    return Verdict(True, f"{version} answered {expected}")


def start_traffic(event: HookEvent, target: dict[str, Any], now: float) -> None:
    """Hand the synthetic traffic for this deployment to the traffic function (asynchronously: it runs
    for the whole shift, after this hook has reported)."""
    traffic = target["traffic"]
    client("lambda").invoke(
        FunctionName=os.environ["TRAFFIC_FUNCTION_NAME"],
        InvocationType="Event",
        Payload=json.dumps(
            {
                "deployment_id": event.deployment_id,
                "alias_arn": target["alias_arn"],
                "probe_event": target["probe_event"],
                "per_minute": traffic["per_minute"],
                "until": int(now) + traffic["seconds"],
            }
        ).encode(),
    )


def check(event: HookEvent, target: dict[str, Any]) -> Verdict:
    verdict = probe(target)
    if verdict.succeeded:
        start_traffic(event, target, time.time())
        logger.info("synthetic traffic started", extra={"alias": target["alias_arn"]})
    return verdict


@logger.inject_lambda_context
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, str]:
    return run_hook(event, check)
