"""Synthetic traffic during a traffic shift: invoke the `live` alias with the probe event at a steady
rate while the deployment is in progress, so the new version's share of it reaches the version-scoped
alarms (Lambda publishes ExecutedVersion only for invocations through an alias) even when nobody else
calls the function. Started by the pre-traffic hook; stops when the deployment ends or its deadline
passes, and hands over to a fresh invocation of itself before its own timeout."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from .lifecycle import client, logger

# CodeDeploy statuses of a deployment that may still shift traffic.
ACTIVE_STATUSES = frozenset({"Created", "Queued", "InProgress", "Baking", "Ready"})
STATUS_CHECK_SECONDS = 15
# Leave this much of the invocation's time to hand over to the next one.
HANDOVER_MARGIN_MS = 20_000


def deployment_active(deployment_id: str) -> bool:
    info = client("codedeploy").get_deployment(deploymentId=deployment_id)["deploymentInfo"]
    return info["status"] in ACTIVE_STATUSES


def invoke_alias(alias_arn: str, payload: bytes) -> None:
    response = client("lambda").invoke(FunctionName=alias_arn, InvocationType="RequestResponse", Payload=payload)
    if response.get("FunctionError"):  # the version-scoped alarms count it; nothing to do here
        logger.warning("synthetic request failed", extra={"alias": alias_arn, "error": response["FunctionError"]})


def run(
    order: dict[str, Any],
    remaining_ms: Callable[[], int],
    clock: Callable[[], float] = time.time,
    sleep: Callable[[float], None] = time.sleep,
) -> str:
    """Send traffic until the deployment ends ("ended"), the deadline passes ("deadline") or this
    invocation must hand over ("handover"). Returns why it stopped."""
    interval = 60.0 / max(1, int(order["per_minute"]))
    payload = json.dumps(order["probe_event"], sort_keys=True, separators=(",", ":")).encode()
    next_check = 0.0
    while True:
        now = clock()
        if now >= order["until"]:
            return "deadline"
        if remaining_ms() < HANDOVER_MARGIN_MS:
            return "handover"
        if now >= next_check:
            if not deployment_active(order["deployment_id"]):
                return "ended"
            next_check = now + STATUS_CHECK_SECONDS
        try:
            invoke_alias(order["alias_arn"], payload)
        except Exception:  # a lost synthetic request must not stop the traffic
            logger.exception("synthetic request could not be sent")
        sleep(max(0.0, interval - (clock() - now)))


def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, str]:
    outcome = run(event, context.get_remaining_time_in_millis)
    logger.info("synthetic traffic stopped", extra={"reason": outcome, "deployment_id": event.get("deployment_id")})
    if outcome == "handover":
        client("lambda").invoke(
            FunctionName=os.environ["AWS_LAMBDA_FUNCTION_NAME"], InvocationType="Event", Payload=json.dumps(event)
        )
    return {"status": outcome}
