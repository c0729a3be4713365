"""The shared CodeDeploy lifecycle hooks and the synthetic traffic: the hooks find what a deployment
releases, report Succeeded or Failed in every path (never leave the lifecycle event pending), and keep
traffic flowing through the alias while CodeDeploy shifts. Real event shapes, botocore Stubber for
Lambda, CodeDeploy and CloudWatch."""

import io
import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import ReadTimeoutError
from botocore.response import StreamingBody
from botocore.stub import ANY, Stubber

from deploy_hooks import lifecycle, post_traffic, pre_traffic, traffic
from items_runtime import api as handler
from services.items.probe import health_probe_event
from tools.events import FakeLambdaContext

# What CodeDeploy sends a BeforeAllowTraffic / AfterAllowTraffic hook.
EVENT = {
    "DeploymentId": "d-F1EXAMPLE1",
    "LifecycleEventHookExecutionId": "eyJlbmNyeXB0ZWREYXRhIjoiY3h4eEV4YW1wbGUifQ==",
}
GROUP = "dev-items-DeliveryDeploymentGroup-1A2B3C"
OTHER_GROUP = "dev-items-IngestDeliveryDeploymentGroup-4D5E6F"
VERSION = "arn:aws:lambda:eu-west-1:111111111111:function:dev-items-Function:7"
ALIAS = "arn:aws:lambda:eu-west-1:111111111111:function:dev-items-Function:live"
TRAFFIC_FUNCTION = "dev-items-DeploymentHooksSyntheticTraffic"
PROBE = health_probe_event()


def _pre_target(group: str = GROUP, expected: dict[str, Any] | None = None) -> str:
    return json.dumps(
        {
            "group": group,
            "version_arn": VERSION,
            "alias_arn": ALIAS,
            "probe_event": PROBE,
            "expected_response": expected or {"statusCode": 200},
            "traffic": {"per_minute": 60, "seconds": 600},
        }
    )


class Clients:
    def __init__(self) -> None:
        self.clients = {
            name: boto3.client(name, region_name="eu-west-1") for name in ("lambda", "codedeploy", "cloudwatch")
        }
        self.stubs = {name: Stubber(client) for name, client in self.clients.items()}

    def expect_deployment(self, group: str = GROUP, status: str = "InProgress") -> None:
        self.stubs["codedeploy"].add_response(
            "get_deployment",
            {"deploymentInfo": {"deploymentGroupName": group, "applicationName": "dev-items", "status": status}},
            {"deploymentId": EVENT["DeploymentId"]},
        )

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

    def expect_invoke(self, payload: Any, function_error: str | None = None, target: str = VERSION) -> None:
        body = json.dumps(payload).encode() if not isinstance(payload, bytes) else payload
        response: dict[str, Any] = {"StatusCode": 200, "Payload": StreamingBody(io.BytesIO(body), len(body))}
        if function_error:
            response["FunctionError"] = function_error
        self.stubs["lambda"].add_response(
            "invoke",
            response,
            {
                "FunctionName": target,
                "InvocationType": "RequestResponse",
                "Payload": json.dumps(PROBE, sort_keys=True, separators=(",", ":")).encode(),
            },
        )

    def expect_traffic_started(self) -> None:
        self.stubs["lambda"].add_response(
            "invoke",
            {"StatusCode": 202},
            {"FunctionName": TRAFFIC_FUNCTION, "InvocationType": "Event", "Payload": ANY},
        )


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[Clients]:
    clients = Clients()
    for module in (lifecycle, pre_traffic, post_traffic, traffic):
        monkeypatch.setattr(module, "client", lambda service: clients.clients[service])
    monkeypatch.setenv("DEPLOYMENT_TARGET_1", _pre_target())
    monkeypatch.setenv("TRAFFIC_FUNCTION_NAME", TRAFFIC_FUNCTION)
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


# --- finding the target ------------------------------------------------------------------------


def test_targets_are_read_from_every_deployment_target_variable() -> None:
    environ = {"DEPLOYMENT_TARGET_1": _pre_target(), "DEPLOYMENT_TARGET_2": _pre_target(OTHER_GROUP), "X": "1"}
    assert sorted(lifecycle.targets(environ)) == sorted([GROUP, OTHER_GROUP])


def test_a_deployment_of_another_group_fails_naming_the_known_groups(aws: Clients) -> None:
    aws.expect_deployment(group="some-other-group")
    aws.expect_report("Failed")
    result = pre()
    assert result["status"] == "Failed"
    assert "some-other-group is not a target" in result["reason"]
    assert GROUP in result["reason"]


def test_the_hook_probes_the_target_of_the_deployments_own_group(aws: Clients, monkeypatch: pytest.MonkeyPatch) -> None:
    other_version = VERSION.replace(":7", ":9")
    other = json.loads(_pre_target(OTHER_GROUP))
    other["version_arn"] = other_version
    monkeypatch.setenv("DEPLOYMENT_TARGET_2", json.dumps(other))
    aws.expect_deployment(group=OTHER_GROUP)
    aws.expect_invoke({"statusCode": 200}, target=other_version)
    aws.expect_traffic_started()
    aws.expect_report("Succeeded")
    assert pre()["status"] == "Succeeded"


# --- pre-traffic -------------------------------------------------------------------------------


def test_a_healthy_new_version_lets_traffic_move_and_starts_synthetic_traffic(aws: Clients) -> None:
    aws.expect_deployment()
    aws.expect_invoke({"statusCode": 200, "body": '{"status":"ok"}'})
    aws.expect_traffic_started()
    aws.expect_report("Succeeded")
    assert pre()["status"] == "Succeeded"


def test_the_traffic_order_names_the_alias_the_probe_and_a_deadline(aws: Clients) -> None:
    sent: list[dict[str, Any]] = []
    original = aws.clients["lambda"].invoke

    def capture(**kwargs: Any) -> Any:
        if kwargs["InvocationType"] == "Event":
            sent.append(json.loads(kwargs["Payload"]))
        return original(**kwargs)

    aws.clients["lambda"].invoke = capture  # type: ignore[method-assign]
    aws.expect_deployment()
    aws.expect_invoke({"statusCode": 200})
    aws.expect_traffic_started()
    aws.expect_report("Succeeded")
    pre()
    (order,) = sent
    assert order["alias_arn"] == ALIAS
    assert order["deployment_id"] == EVENT["DeploymentId"]
    assert order["probe_event"] == PROBE
    assert order["per_minute"] == 60
    assert order["until"] > 0


def test_traffic_that_cannot_start_fails_the_deployment(aws: Clients) -> None:
    aws.expect_deployment()
    aws.expect_invoke({"statusCode": 200})
    aws.stubs["lambda"].add_client_error("invoke", service_error_code="TooManyRequestsException", http_status_code=429)
    aws.expect_report("Failed")
    assert "TooManyRequestsException" in pre()["reason"]


def test_a_function_error_fails_the_deployment_without_traffic(aws: Clients) -> None:
    aws.expect_deployment()
    aws.expect_invoke({"errorMessage": "boom", "errorType": "KeyError"}, function_error="Unhandled")
    aws.expect_report("Failed")
    result = pre()
    assert result["status"] == "Failed"
    assert "raised (Unhandled)" in result["reason"]


def test_a_wrong_status_code_fails_the_deployment(aws: Clients) -> None:
    aws.expect_deployment()
    aws.expect_invoke({"statusCode": 503, "body": '{"status":"failing"}'})
    aws.expect_report("Failed")
    assert pre()["reason"].endswith("answered {'statusCode': 503}, expected {'statusCode': 200}")


def test_a_worker_answering_without_failures_lets_traffic_move(aws: Clients, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DEPLOYMENT_TARGET_1", _pre_target(expected={"batchItemFailures": []}))
    aws.expect_deployment()
    aws.expect_invoke({"batchItemFailures": []})
    aws.expect_traffic_started()
    aws.expect_report("Succeeded")
    assert pre()["status"] == "Succeeded"


def test_a_worker_reporting_a_failed_probe_message_fails_the_deployment(
    aws: Clients, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DEPLOYMENT_TARGET_1", _pre_target(expected={"batchItemFailures": []}))
    aws.expect_deployment()
    aws.expect_invoke({"batchItemFailures": [{"itemIdentifier": "pre-traffic-hook"}]})
    aws.expect_report("Failed")
    assert "batchItemFailures" in pre()["reason"]


def test_an_answer_that_is_not_an_object_fails_the_deployment(aws: Clients) -> None:
    aws.expect_deployment()
    aws.expect_invoke(["not", "an", "object"])
    aws.expect_report("Failed")
    assert "expected an object" in pre()["reason"]


def test_an_answer_that_is_not_json_fails_the_deployment(aws: Clients) -> None:
    aws.expect_deployment()
    aws.expect_invoke(b"<html>not json</html>")
    aws.expect_report("Failed")
    assert pre()["reason"].endswith("did not answer JSON")


def test_a_timeout_invoking_the_new_version_fails_the_deployment(aws: Clients, monkeypatch: pytest.MonkeyPatch) -> None:
    def timeout(**_: Any) -> None:
        raise ReadTimeoutError(endpoint_url="https://lambda.eu-west-1.amazonaws.com")

    monkeypatch.setattr(aws.clients["lambda"], "invoke", timeout)
    aws.expect_deployment()
    aws.expect_report("Failed")
    result = pre()
    assert result["status"] == "Failed"
    assert "ReadTimeoutError" in result["reason"]


def test_an_unreadable_deployment_still_reports_failed(aws: Clients) -> None:
    aws.stubs["codedeploy"].add_client_error("get_deployment", service_error_code="AccessDeniedException")
    aws.expect_report("Failed")
    result = pre()
    assert result["status"] == "Failed"
    assert "AccessDeniedException" in result["reason"]


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


def test_the_probe_holds_no_nulls_the_stack_would_drop() -> None:
    def nulls(value: Any) -> bool:
        if isinstance(value, dict):
            return any(v is None or nulls(v) for v in value.values())
        return isinstance(value, list) and any(nulls(v) for v in value)

    assert not nulls(health_probe_event())


# --- post-traffic ------------------------------------------------------------------------------


@pytest.fixture
def post_aws(aws: Clients, monkeypatch: pytest.MonkeyPatch) -> Clients:
    monkeypatch.setenv("DEPLOYMENT_TARGET_1", json.dumps({"group": GROUP, "alarm_names": ["errors", "throttles"]}))
    monkeypatch.setenv("BAKE_SECONDS", "120")
    monkeypatch.setattr(post_traffic.time, "sleep", lambda seconds: None)
    aws.expect_deployment()
    return aws


def _expect_describe(aws: Clients, states: dict[str, str]) -> None:
    aws.stubs["cloudwatch"].add_response(
        "describe_alarms",
        {"MetricAlarms": [{"AlarmName": name, "StateValue": state} for name, state in states.items()]},
        {"AlarmNames": ["errors", "throttles"], "AlarmTypes": ["MetricAlarm"]},
    )


def test_quiet_alarms_complete_the_deployment(post_aws: Clients) -> None:
    _expect_describe(post_aws, {"errors": "OK", "throttles": "INSUFFICIENT_DATA"})
    post_aws.expect_report("Succeeded")
    assert post()["status"] == "Succeeded"


def test_the_post_hook_waits_one_alarm_window_before_reading_alarms(
    post_aws: Clients, monkeypatch: pytest.MonkeyPatch
) -> None:
    waited: list[float] = []
    monkeypatch.setattr(post_traffic.time, "sleep", waited.append)
    _expect_describe(post_aws, {"errors": "OK", "throttles": "OK"})
    post_aws.expect_report("Succeeded")
    post()
    assert waited == [120]


def test_an_alarm_in_alarm_fails_the_deployment(post_aws: Clients) -> None:
    _expect_describe(post_aws, {"errors": "ALARM", "throttles": "OK"})
    post_aws.expect_report("Failed")
    assert post()["reason"] == "alarms in ALARM: errors"


def test_a_missing_alarm_fails_the_deployment(post_aws: Clients) -> None:
    _expect_describe(post_aws, {"errors": "OK"})
    post_aws.expect_report("Failed")
    assert post()["reason"] == "alarms not found: throttles"


def test_throttled_alarm_reads_fail_the_deployment_rather_than_hang(post_aws: Clients) -> None:
    post_aws.stubs["cloudwatch"].add_client_error(
        "describe_alarms", service_error_code="Throttling", http_status_code=400
    )
    post_aws.expect_report("Failed")
    assert "ClientError" in post()["reason"]


# --- synthetic traffic -------------------------------------------------------------------------


class Clock:
    """A fake clock that sleeping advances."""

    def __init__(self) -> None:
        self.now = 1_000.0

    def time(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def _order(**changes: Any) -> dict[str, Any]:
    return {
        "deployment_id": EVENT["DeploymentId"],
        "alias_arn": ALIAS,
        "probe_event": PROBE,
        "per_minute": 60,
        "until": 1_000 + 30,
        **changes,
    }


@pytest.fixture
def calls(aws: Clients, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """What the traffic function invokes, without a stub per request."""
    invoked: list[str] = []

    def invoke(**kwargs: Any) -> dict[str, Any]:
        invoked.append(kwargs["FunctionName"])
        assert kwargs["InvocationType"] == "RequestResponse"
        assert json.loads(kwargs["Payload"]) == PROBE
        return {"StatusCode": 200}

    monkeypatch.setattr(aws.clients["lambda"], "invoke", invoke)
    return invoked


def test_traffic_goes_through_the_alias_at_the_ordered_rate_until_the_deadline(aws: Clients, calls: list[str]) -> None:
    clock = Clock()
    for _ in range(2):  # checked every 15 s of the 30 s
        aws.expect_deployment()
    outcome = traffic.run(_order(), lambda: 600_000, clock.time, clock.sleep)
    assert outcome == "deadline"
    assert set(calls) == {ALIAS}
    assert len(calls) == 30  # 60 a minute for 30 seconds


def test_traffic_stops_when_the_deployment_ends(aws: Clients, calls: list[str]) -> None:
    clock = Clock()
    aws.expect_deployment(status="InProgress")
    aws.expect_deployment(status="Succeeded")
    outcome = traffic.run(_order(until=1_000 + 600), lambda: 600_000, clock.time, clock.sleep)
    assert outcome == "ended"
    assert len(calls) == 15


def test_traffic_hands_over_before_its_own_timeout(aws: Clients, calls: list[str]) -> None:
    clock = Clock()
    aws.expect_deployment()
    remaining = iter([60_000, 40_000, 10_000])
    outcome = traffic.run(_order(until=1_000 + 600), lambda: next(remaining), clock.time, clock.sleep)
    assert outcome == "handover"
    assert len(calls) == 2


def test_a_failed_synthetic_request_does_not_stop_the_traffic(aws: Clients, monkeypatch: pytest.MonkeyPatch) -> None:
    clock = Clock()
    attempts: list[int] = []

    def flaky(**_: Any) -> dict[str, Any]:
        attempts.append(1)
        raise ReadTimeoutError(endpoint_url="https://lambda.eu-west-1.amazonaws.com")

    monkeypatch.setattr(aws.clients["lambda"], "invoke", flaky)
    aws.expect_deployment()
    assert traffic.run(_order(until=1_000 + 5), lambda: 600_000, clock.time, clock.sleep) == "deadline"
    assert len(attempts) == 5


def test_the_traffic_function_reinvokes_itself_on_handover(aws: Clients, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", TRAFFIC_FUNCTION)
    monkeypatch.setattr(traffic, "run", lambda order, remaining: "handover")
    aws.stubs["lambda"].add_response(
        "invoke",
        {"StatusCode": 202},
        {"FunctionName": TRAFFIC_FUNCTION, "InvocationType": "Event", "Payload": json.dumps(_order())},
    )
    assert traffic.lambda_handler(_order(), FakeLambdaContext())["status"] == "handover"  # type: ignore[arg-type]
