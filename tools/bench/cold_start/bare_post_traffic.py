"""The limit: the post-traffic hook written with boto3 alone, making ours' calls (find the deployment's
group, read its alarms, report the verdict)."""

import json
import os

import boto3

_codedeploy = boto3.client("codedeploy")
_cloudwatch = boto3.client("cloudwatch")


def lambda_handler(event, context):  # type: ignore[no-untyped-def]
    _codedeploy.get_deployment(deploymentId=event["DeploymentId"])
    names = json.loads(os.environ["DEPLOYMENT_TARGET_1"])["alarm_names"]
    alarms = _cloudwatch.describe_alarms(AlarmNames=names, AlarmTypes=["MetricAlarm"])["MetricAlarms"]
    status = "Failed" if any(a["StateValue"] == "ALARM" for a in alarms) else "Succeeded"
    _codedeploy.put_lifecycle_event_hook_execution_status(
        deploymentId=event["DeploymentId"],
        lifecycleEventHookExecutionId=event["LifecycleEventHookExecutionId"],
        status=status,
    )
    return {"status": status}
