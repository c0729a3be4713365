"""Reading CodeDeploy's lifecycle-hook event, finding what the deployment releases, and reporting the
verdict, whatever happened.

One pair of hooks serves every deployment group of a stack. CodeDeploy's event names only the
deployment, so the hook asks CodeDeploy for its deployment group and picks that group's target from
the ``DEPLOYMENT_TARGET_<n>`` variables the stack sets (one JSON object per group)."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

import boto3
from aws_lambda_powertools import Logger
from botocore.config import Config

logger = Logger()
# Short timeouts and few retries: the hook must answer CodeDeploy well within its own timeout.
CLIENT_CONFIG = Config(retries={"mode": "standard", "max_attempts": 3}, connect_timeout=3, read_timeout=20)
TARGET_VARIABLE_PREFIX = "DEPLOYMENT_TARGET_"


class InvalidHookEvent(ValueError):
    """The event is not a CodeDeploy lifecycle-hook event; there is no deployment to report to."""


@dataclass(frozen=True)
class HookEvent:
    deployment_id: str
    execution_id: str

    @classmethod
    def parse(cls, event: Any) -> HookEvent:
        if not isinstance(event, dict):
            raise InvalidHookEvent(f"expected an object, got {type(event).__name__}")
        deployment_id, execution_id = event.get("DeploymentId"), event.get("LifecycleEventHookExecutionId")
        if not isinstance(deployment_id, str) or not deployment_id:
            raise InvalidHookEvent("DeploymentId is missing")
        if not isinstance(execution_id, str) or not execution_id:
            raise InvalidHookEvent("LifecycleEventHookExecutionId is missing")
        return cls(deployment_id, execution_id)


@dataclass(frozen=True)
class Verdict:
    succeeded: bool
    reason: str

    @property
    def status(self) -> str:
        return "Succeeded" if self.succeeded else "Failed"


@cache
def client(service: str) -> Any:
    return boto3.client(service, config=CLIENT_CONFIG)


def targets(environ: Mapping[str, str] = os.environ) -> dict[str, dict[str, Any]]:
    """The targets the stack registered with this hook, by deployment group name."""
    found = {}
    for name, value in environ.items():
        if name.startswith(TARGET_VARIABLE_PREFIX):
            target = json.loads(value)
            found[target["group"]] = target
    return found


def deployment_target(event: HookEvent) -> dict[str, Any]:
    """The registered target of the deployment group this deployment belongs to."""
    info = client("codedeploy").get_deployment(deploymentId=event.deployment_id)["deploymentInfo"]
    group = info["deploymentGroupName"]
    registered = targets()
    if group not in registered:
        raise LookupError(f"deployment group {group} is not a target of this hook (known: {sorted(registered)})")
    return registered[group]


def report(event: HookEvent, verdict: Verdict) -> None:
    logger.info(
        "reporting lifecycle hook result",
        extra={"deployment_id": event.deployment_id, "status": verdict.status, "reason": verdict.reason},
    )
    client("codedeploy").put_lifecycle_event_hook_execution_status(
        deploymentId=event.deployment_id,
        lifecycleEventHookExecutionId=event.execution_id,
        status=verdict.status,
    )


def run_hook(raw_event: Any, check: Callable[[HookEvent, dict[str, Any]], Verdict]) -> dict[str, str]:
    """Parse the event, find the deployment's target, run the check, and report Succeeded or Failed in
    every case but one: an event without ids, which no report could reach (CodeDeploy then times the
    hook out and rolls back)."""
    try:
        event = HookEvent.parse(raw_event)
    except InvalidHookEvent as error:
        logger.error("not a CodeDeploy lifecycle-hook event, nothing to report to", extra={"reason": str(error)})
        return {"status": "Failed", "reason": str(error)}
    try:
        verdict = check(event, deployment_target(event))
    except Exception as error:  # every failure of the check is a failed deployment, never a pending one
        logger.exception("the check raised")
        verdict = Verdict(False, f"the check raised {type(error).__name__}: {error}")
    report(event, verdict)
    return {"status": verdict.status, "reason": verdict.reason}
