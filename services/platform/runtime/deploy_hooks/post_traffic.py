"""After all traffic moved: wait one alarm window (the last shift, or the only one of an all-at-once
deployment, must be seen by the alarms; the synthetic traffic keeps running meanwhile), then let the
deployment succeed only if none of its alarms is in ALARM."""

import os
import time
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from .lifecycle import HookEvent, Verdict, client, logger, run_hook


def alarms_ok(names: list[str]) -> Verdict:
    response = client("cloudwatch").describe_alarms(AlarmNames=names, AlarmTypes=["MetricAlarm"])
    found = {alarm["AlarmName"]: alarm["StateValue"] for alarm in response.get("MetricAlarms", [])}
    missing = sorted(set(names) - set(found))
    if missing:
        return Verdict(False, f"alarms not found: {', '.join(missing)}")
    firing = sorted(name for name, state in found.items() if state == "ALARM")
    if firing:
        return Verdict(False, f"alarms in ALARM: {', '.join(firing)}")
    return Verdict(True, f"{len(found)} alarms OK or without data")


def check(event: HookEvent, target: dict[str, Any]) -> Verdict:
    time.sleep(int(os.environ["BAKE_SECONDS"]))
    return alarms_ok(list(target["alarm_names"]))


@logger.inject_lambda_context
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, str]:
    return run_hook(event, check)
