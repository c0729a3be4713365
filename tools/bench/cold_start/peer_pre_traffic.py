"""The peer: the pre-traffic hook written the usual Powertools way — Logger and Tracer created at import
(X-Ray patching every library it knows), the clients created at import."""

import json
import os

import boto3
from aws_lambda_powertools import Logger, Tracer

logger = Logger()
tracer = Tracer()
codedeploy = boto3.client("codedeploy")
lambda_client = boto3.client("lambda")


@logger.inject_lambda_context
@tracer.capture_lambda_handler
def lambda_handler(event, context):  # type: ignore[no-untyped-def]
    codedeploy.get_deployment(deploymentId=event["DeploymentId"])
    target = json.loads(os.environ["DEPLOYMENT_TARGET_1"])
    response = lambda_client.invoke(FunctionName=target["version_arn"], Payload=json.dumps(target["probe_event"]))
    answer = json.loads(response["Payload"].read())
    status = "Succeeded" if all(answer.get(k) == v for k, v in target["expected_response"].items()) else "Failed"
    if status == "Succeeded":
        lambda_client.invoke(FunctionName=os.environ["TRAFFIC_FUNCTION_NAME"], InvocationType="Event", Payload=b"{}")
    logger.info("reporting", extra={"status": status})
    codedeploy.put_lifecycle_event_hook_execution_status(
        deploymentId=event["DeploymentId"],
        lifecycleEventHookExecutionId=event["LifecycleEventHookExecutionId"],
        status=status,
    )
    return {"status": status}
