"""The CodeDeploy lifecycle hooks: they report Succeeded or Failed in every path, never leave the
lifecycle event pending. Real event shape, botocore Stubber for Lambda, CodeDeploy and CloudWatch."""

import io
import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import ReadTimeoutError
from botocore.response import StreamingBody
from botocore.stub import Stubber

from deploy_hooks import lifecycle, post_traffic, pre_traffic
from items_api import handler
from services.items.probe import health_probe_event
from tests.events import FakeLambdaContext

# What CodeDeploy sends a BeforeAllowTraffic / AfterAllowTraffic hook.
EVENT = {
    "DeploymentId": "d-F1EXAMPLE1",
    "LifecycleEventHookExecutionId": "eyJlbmNyeXB0ZWREYXRhIjoiY3h4eEV4YW1wbGUifQ==",
}
TARGET = "arn:aws:lambda:eu-west-1:111111111111:function:dev-items-Function:7"


class Clients:
    def __init__(self) -> None:
        self.clients = {
            name: boto3.client(name, region_name="eu-west-1") for name in ("lambda", "codedeploy", "cloudwatch")
        }
        self.stubs = {name: Stubber(client) for name, client in self.clients.items()}

    def expect_report(self, status: str) -> None:
        self.stubs["codedeploy"].add_response(
            "put_lifecycle_event_hook_execution_status",
            {"lifecycleEventHookExecutionId": EVENT["LifecycleEventHookExecutionId"]},
            {
                "deploymentId": EVENT["DeploymentId"],
                "lifecycleEventHookExecutionId": EVENT["LifecycleEventHookExecutionId"],
                "status": status,
            },
        )

    def expect_invoke(self, payload: Any, function_error: str | None = None) -> None:
        body = json.dumps(payload).encode() if not isinstance(payload, bytes) else payload
        response: dict[str, Any] = {"StatusCode": 200, "Payload": StreamingBody(io.BytesIO(body), len(body))}
        if function_error:
            response["FunctionError"] = function_error
        self.stubs["lambda"].add_response(
            "invoke",
            response,
            {
                "FunctionName": TARGET,
                "InvocationType": "RequestResponse",
                "Payload": json.dumps(health_probe_event(), sort_keys=True, separators=(",", ":")).encode(),
            },
        )


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[Clients]:
    clients = Clients()
    monkeypatch.setattr(lifecycle, "client", lambda service: clients.clients[service])
    monkeypatch.setattr(pre_traffic, "client", lambda service: clients.clients[service])
    monkeypatch.setattr(post_traffic, "client", lambda service: clients.clients[service])
    monkeypatch.setenv("TARGET_VERSION_ARN", TARGET)
    monkeypatch.setenv("PROBE_EVENT", json.dumps(health_probe_event(), sort_keys=True, separators=(",", ":")))
    monkeypatch.setenv("EXPECTED_RESPONSE", '{"statusCode":200}')
    monkeypatch.setenv("ALARM_NAMES", "errors-alarm,throttles-alarm")
    for stub in clients.stubs.values():
        stub.activate()
    yield clients
    for stub in clients.stubs.values():
        stub.assert_no_pending_responses()
        stub.deactivate()


def pre(event: Any = EVENT) -> dict[str, str]:
    return pre_traffic.lambda_handler(event, FakeLambdaContext())  # type: ignore[arg-type]


def post(event: Any = EVENT) -> dict[str, str]:
    return post_traffic.lambda_handler(event, FakeLambdaContext())  # type: ignore[arg-type]


# --- pre-traffic -------------------------------------------------------------------------------


def test_a_healthy_new_version_lets_traffic_move(aws: Clients) -> None:
    aws.expect_invoke({"statusCode": 200, "body": '{"status":"ok"}'})
    aws.expect_report("Succeeded")
    assert pre()["status"] == "Succeeded"


def test_a_function_error_fails_the_deployment(aws: Clients) -> None:
    aws.expect_invoke({"errorMessage": "boom", "errorType": "KeyError"}, function_error="Unhandled")
    aws.expect_report("Failed")
    result = pre()
    assert result["status"] == "Failed"
    assert "raised (Unhandled)" in result["reason"]


def test_a_wrong_status_code_fails_the_deployment(aws: Clients) -> None:
    aws.expect_invoke({"statusCode": 503, "body": '{"status":"failing"}'})
    aws.expect_report("Failed")
    assert pre()["reason"].endswith("answered {'statusCode': 503}, expected {'statusCode': 200}")


def test_a_worker_answering_without_failures_lets_traffic_move(aws: Clients, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EXPECTED_RESPONSE", '{"batchItemFailures":[]}')
    aws.expect_invoke({"batchItemFailures": []})
    aws.expect_report("Succeeded")
    assert pre()["status"] == "Succeeded"


def test_a_worker_reporting_a_failed_probe_message_fails_the_deployment(
    aws: Clients, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EXPECTED_RESPONSE", '{"batchItemFailures":[]}')
    aws.expect_invoke({"batchItemFailures": [{"itemIdentifier": "pre-traffic-hook"}]})
    aws.expect_report("Failed")
    assert "batchItemFailures" in pre()["reason"]


def test_an_answer_that_is_not_an_object_fails_the_deployment(aws: Clients) -> None:
    aws.expect_invoke(["not", "an", "object"])
    aws.expect_report("Failed")
    assert "expected an object" in pre()["reason"]


def test_an_answer_that_is_not_json_fails_the_deployment(aws: Clients) -> None:
    aws.expect_invoke(b"<html>not json</html>")
    aws.expect_report("Failed")
    assert pre()["reason"].endswith("did not answer JSON")


def test_a_timeout_invoking_the_new_version_fails_the_deployment(aws: Clients, monkeypatch: pytest.MonkeyPatch) -> None:
    def timeout(**_: Any) -> None:
        raise ReadTimeoutError(endpoint_url="https://lambda.eu-west-1.amazonaws.com")

    monkeypatch.setattr(aws.clients["lambda"], "invoke", timeout)
    aws.expect_report("Failed")
    result = pre()
    assert result["status"] == "Failed"
    assert "ReadTimeoutError" in result["reason"]


def test_an_unexpected_exception_still_reports_failed(aws: Clients, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TARGET_VERSION_ARN")
    aws.expect_report("Failed")
    result = pre()
    assert result["status"] == "Failed"
    assert "KeyError" in result["reason"]


@pytest.mark.parametrize(
    "event",
    [
        {},
        {"DeploymentId": "d-1"},
        {"LifecycleEventHookExecutionId": "x"},
        {"DeploymentId": "", "LifecycleEventHookExecutionId": "x"},
        [],
    ],
    ids=["empty", "no-execution-id", "no-deployment-id", "blank-id", "not-an-object"],
)
def test_an_event_without_ids_is_refused_without_calling_aws(aws: Clients, event: Any) -> None:
    result = pre(event)
    assert result["status"] == "Failed"
    assert "missing" in result["reason"] or "expected an object" in result["reason"]


def test_the_probe_is_the_real_handler_answering_health() -> None:
    response = handler.lambda_handler(health_probe_event(), FakeLambdaContext())
    assert response["statusCode"] == 200


# --- post-traffic ------------------------------------------------------------------------------


def _alarms(states: dict[str, str]) -> dict[str, Any]:
    return {"MetricAlarms": [{"AlarmName": name, "StateValue": state} for name, state in states.items()]}


def _expect_describe(aws: Clients, states: dict[str, str]) -> None:
    aws.stubs["cloudwatch"].add_response(
        "describe_alarms",
        _alarms(states),
        {"AlarmNames": ["errors-alarm", "throttles-alarm"], "AlarmTypes": ["MetricAlarm"]},
    )


def test_quiet_alarms_complete_the_deployment(aws: Clients) -> None:
    _expect_describe(aws, {"errors-alarm": "OK", "throttles-alarm": "INSUFFICIENT_DATA"})
    aws.expect_report("Succeeded")
    assert post()["status"] == "Succeeded"


def test_an_alarm_in_alarm_fails_the_deployment(aws: Clients) -> None:
    _expect_describe(aws, {"errors-alarm": "ALARM", "throttles-alarm": "OK"})
    aws.expect_report("Failed")
    assert post()["reason"] == "alarms in ALARM: errors-alarm"


def test_a_missing_alarm_fails_the_deployment(aws: Clients) -> None:
    _expect_describe(aws, {"errors-alarm": "OK"})
    aws.expect_report("Failed")
    assert post()["reason"] == "alarms not found: throttles-alarm"


def test_throttled_alarm_reads_fail_the_deployment_rather_than_hang(aws: Clients) -> None:
    aws.stubs["cloudwatch"].add_client_error("describe_alarms", service_error_code="Throttling", http_status_code=400)
    aws.expect_report("Failed")
    assert "ClientError" in post()["reason"]
