"""The limit: the pre-traffic hook written with boto3 alone, making ours' calls (find the deployment's
group, invoke the new version, start the synthetic traffic, report the verdict)."""

import json
import os

import boto3

_codedeploy = boto3.client("codedeploy")
_lambda = boto3.client("lambda")


def lambda_handler(event, context):  # type: ignore[no-untyped-def]
    _codedeploy.get_deployment(deploymentId=event["DeploymentId"])
    target = json.loads(os.environ["DEPLOYMENT_TARGET_1"])
    response = _lambda.invoke(FunctionName=target["version_arn"], Payload=json.dumps(target["probe_event"]))
    answer = json.loads(response["Payload"].read())
    status = "Succeeded" if all(answer.get(k) == v for k, v in target["expected_response"].items()) else "Failed"
    if status == "Succeeded":
        _lambda.invoke(FunctionName=os.environ["TRAFFIC_FUNCTION_NAME"], InvocationType="Event", Payload=b"{}")
    _codedeploy.put_lifecycle_event_hook_execution_status(
        deploymentId=event["DeploymentId"],
        lifecycleEventHookExecutionId=event["LifecycleEventHookExecutionId"],
        status=status,
    )
    return {"status": status}
