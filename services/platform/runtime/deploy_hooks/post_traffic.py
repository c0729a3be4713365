"""After all traffic moved: the deployment succeeds only if none of its alarms is in ALARM."""

import os
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from .lifecycle import Verdict, client, logger, run_hook


def alarms_ok() -> Verdict:
    names = [n for n in os.environ["ALARM_NAMES"].split(",") if n]
    response = client("cloudwatch").describe_alarms(AlarmNames=names, AlarmTypes=["MetricAlarm"])
    found = {alarm["AlarmName"]: alarm["StateValue"] for alarm in response.get("MetricAlarms", [])}
    missing = sorted(set(names) - set(found))
    if missing:
        return Verdict(False, f"alarms not found: {', '.join(missing)}")
    firing = sorted(name for name, state in found.items() if state == "ALARM")
    if firing:
        return Verdict(False, f"alarms in ALARM: {', '.join(firing)}")
    return Verdict(True, f"{len(found)} alarms OK or without data")


@logger.inject_lambda_context
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, str]:
    return run_hook(event, alarms_ok)
