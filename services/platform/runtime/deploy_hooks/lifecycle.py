"""Reading CodeDeploy's lifecycle-hook event and reporting the verdict, whatever happened."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

import boto3
from aws_lambda_powertools import Logger
from botocore.config import Config

logger = Logger()
# Short timeouts and few retries: the hook must answer CodeDeploy well within its own timeout.
CLIENT_CONFIG = Config(retries={"mode": "standard", "max_attempts": 3}, connect_timeout=3, read_timeout=20)


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


def run_hook(raw_event: Any, check: Any) -> dict[str, str]:
    """Parse the event, run the check, and report Succeeded or Failed in every case but one: an event
    without ids, which no report could reach (CodeDeploy then times the hook out and rolls back)."""
    try:
        event = HookEvent.parse(raw_event)
    except InvalidHookEvent as error:
        logger.error("not a CodeDeploy lifecycle-hook event, nothing to report to", extra={"reason": str(error)})
        return {"status": "Failed", "reason": str(error)}
    try:
        verdict = check()
    except Exception as error:  # every failure of the check is a failed deployment, never a pending one
        logger.exception("the check raised")
        verdict = Verdict(False, f"the check raised {type(error).__name__}: {error}")
    report(event, verdict)
    return {"status": verdict.status, "reason": verdict.reason}
