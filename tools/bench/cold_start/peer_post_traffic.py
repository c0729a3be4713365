"""The peer: the post-traffic hook written the usual Powertools way — Logger and Tracer created at
import (X-Ray patching every library it knows), the clients created at import."""

import json
import os

import boto3
from aws_lambda_powertools import Logger, Tracer

logger = Logger()
tracer = Tracer()
codedeploy = boto3.client("codedeploy")
cloudwatch = boto3.client("cloudwatch")


@logger.inject_lambda_context
@tracer.capture_lambda_handler
def lambda_handler(event, context):  # type: ignore[no-untyped-def]
    codedeploy.get_deployment(deploymentId=event["DeploymentId"])
    names = json.loads(os.environ["DEPLOYMENT_TARGET_1"])["alarm_names"]
    alarms = cloudwatch.describe_alarms(AlarmNames=names, AlarmTypes=["MetricAlarm"])["MetricAlarms"]
    status = "Failed" if any(a["StateValue"] == "ALARM" for a in alarms) else "Succeeded"
    logger.info("reporting", extra={"status": status})
    codedeploy.put_lifecycle_event_hook_execution_status(
        deploymentId=event["DeploymentId"],
        lifecycleEventHookExecutionId=event["LifecycleEventHookExecutionId"],
        status=status,
    )
    return {"status": status}
