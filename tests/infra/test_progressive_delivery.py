"""Every function is released through its `live` alias by CodeDeploy, with hooks, version-scoped
alarms, automatic rollback and notifications, configured per environment."""

import json
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import assertions

from app import cdk_json_context
from services.items.stack import ItemsStack
from stages.config import load_config
from tests.synth_fixtures import Synthesized, resource_with_prefix, resources_of

STAGES = ("dev", "staging", "prod-eu-west-1", "prod-eu-central-1")
EXPECTED_CONFIG = {
    "dev": "CodeDeployDefault.LambdaAllAtOnce",
    "staging": "CodeDeployDefault.LambdaCanary10Percent5Minutes",
    "prod-eu-west-1": "CodeDeployDefault.LambdaLinear10PercentEvery1Minute",
    "prod-eu-central-1": "CodeDeployDefault.LambdaLinear10PercentEvery1Minute",
}


@pytest.fixture(scope="module")
def templates(synthesized: Synthesized) -> dict[str, dict[str, Any]]:
    return {stage_id: synthesized.stage_template(stage_id) for stage_id in STAGES}


def _ref(value: Any) -> str:
    return value.get("Ref") or value.get("Fn::GetAtt", [""])[0]


def _items_group(template: dict[str, Any]) -> dict[str, Any]:
    return resource_with_prefix(template, "AWS::CodeDeploy::DeploymentGroup", "DeliveryDeploymentGroup")


def test_every_function_is_reached_only_through_a_codedeploy_managed_alias(
    templates: dict[str, dict[str, Any]],
) -> None:
    for stage_id, template in templates.items():
        resources = template["Resources"]
        versions = resources_of(template, "AWS::Lambda::Version")
        aliases = resources_of(template, "AWS::Lambda::Alias")
        for function_id in resources_of(template, "AWS::Lambda::Function"):
            (alias,) = [
                a
                for a in aliases.values()
                if _ref(versions[_ref(a["Properties"]["FunctionVersion"])]["Properties"]["FunctionName"]) == function_id
            ]
            assert "CodeDeployLambdaAliasUpdate" in alias["UpdatePolicy"], (stage_id, function_id)
            group = resources[alias["UpdatePolicy"]["CodeDeployLambdaAliasUpdate"]["DeploymentGroupName"]["Ref"]]
            assert group["Type"] == "AWS::CodeDeploy::DeploymentGroup"
        # Nothing invokes a function directly: permissions and integrations name aliases.
        for permission in resources_of(template, "AWS::Lambda::Permission").values():
            assert _ref(permission["Properties"]["FunctionName"]) in aliases, stage_id


def test_items_deployment_config_follows_the_environment(templates: dict[str, dict[str, Any]]) -> None:
    actual = {s: _items_group(t)["Properties"]["DeploymentConfigName"] for s, t in templates.items()}
    assert actual == EXPECTED_CONFIG


def test_rollback_happens_on_failure_stop_and_alarm(templates: dict[str, dict[str, Any]]) -> None:
    for template in templates.values():
        rollback = _items_group(template)["Properties"]["AutoRollbackConfiguration"]
        assert rollback["Enabled"] is True
        assert set(rollback["Events"]) == {
            "DEPLOYMENT_FAILURE",
            "DEPLOYMENT_STOP_ON_REQUEST",
            "DEPLOYMENT_STOP_ON_ALARM",
        }


def test_deployment_watches_at_least_three_alarms_including_the_api_5xx_rate(
    templates: dict[str, dict[str, Any]],
) -> None:
    for template in templates.values():
        alarms = _items_group(template)["Properties"]["AlarmConfiguration"]
        assert alarms["Enabled"] is True
        names = [_ref(a["Name"]) for a in alarms["Alarms"]]
        assert len(names) >= 3
        assert any(n.startswith("OperationsApi5xxRate") for n in names)


def test_function_alarms_of_a_deployment_watch_only_the_new_version(templates: dict[str, dict[str, Any]]) -> None:
    template = templates["prod-eu-west-1"]
    version_id = next(
        iter(k for k in resources_of(template, "AWS::Lambda::Version") if k.startswith("FunctionCurrentVersion"))
    )
    for name in ("DeliveryNewVersionErrors", "DeliveryNewVersionThrottles", "DeliveryNewVersionDurationP99"):
        alarm = resource_with_prefix(template, "AWS::CloudWatch::Alarm", name)["Properties"]
        dimensions = {d["Name"]: d["Value"] for d in alarm["Dimensions"]}
        assert set(dimensions) == {"FunctionName", "Resource", "ExecutedVersion"}
        assert version_id in json.dumps(dimensions["ExecutedVersion"])
        assert alarm["Period"] == 60


def test_alarm_thresholds_follow_the_environment(templates: dict[str, dict[str, Any]]) -> None:
    def duration(stage_id: str) -> float:
        alarm = resource_with_prefix(templates[stage_id], "AWS::CloudWatch::Alarm", "DeliveryNewVersionDurationP99")
        return float(alarm["Properties"]["Threshold"])

    assert [duration(s) for s in ("dev", "staging", "prod-eu-west-1")] == [3000, 2000, 1500]


def test_hooks_run_before_and_after_traffic_moves(templates: dict[str, dict[str, Any]]) -> None:
    for template in templates.values():
        alias = resource_with_prefix(template, "AWS::Lambda::Alias", "FunctionLive")
        update = alias["UpdatePolicy"]["CodeDeployLambdaAliasUpdate"]
        assert "DeliveryPreTrafficHookLive" in json.dumps(update["BeforeAllowTrafficHook"])
        assert "DeliveryPostTrafficHookLive" in json.dumps(update["AfterAllowTrafficHook"])


def test_pre_traffic_hook_probes_the_new_version_with_the_health_route(templates: dict[str, dict[str, Any]]) -> None:
    template = templates["staging"]
    hook = resource_with_prefix(template, "AWS::Lambda::Function", "DeliveryPreTrafficHook")["Properties"]
    variables = hook["Environment"]["Variables"]
    assert variables["TARGET_VERSION_ARN"]["Ref"].startswith("FunctionCurrentVersion")
    probe = json.loads(variables["PROBE_EVENT"])
    assert (probe["httpMethod"], probe["path"], probe["resource"]) == ("GET", "/health", "/health")
    assert hook["Handler"] == "deploy_hooks.pre_traffic.lambda_handler"
    statements = [
        s
        for p in resources_of(template, "AWS::IAM::Policy").values()
        if any(r.get("Ref", "").startswith("DeliveryPreTrafficHookRole") for r in p["Properties"]["Roles"])
        for s in p["Properties"]["PolicyDocument"]["Statement"]
    ]
    invoke = [s for s in statements if s["Action"] == "lambda:InvokeFunction"]
    assert [_ref(s["Resource"]) for s in invoke] == [variables["TARGET_VERSION_ARN"]["Ref"]]
    report = [s for s in statements if s["Action"] == "codedeploy:PutLifecycleEventHookExecutionStatus"]
    assert report
    assert "deploymentgroup:" in json.dumps(report[0]["Resource"])


def test_post_traffic_hook_checks_the_deployment_alarms(templates: dict[str, dict[str, Any]]) -> None:
    hook = resource_with_prefix(templates["dev"], "AWS::Lambda::Function", "DeliveryPostTrafficHook")["Properties"]
    names = json.dumps(hook["Environment"]["Variables"]["ALARM_NAMES"])
    for alarm in (
        "DeliveryNewVersionErrors",
        "DeliveryNewVersionThrottles",
        "DeliveryNewVersionDurationP99",
        "OperationsApi5xxRate",
    ):
        assert alarm in names


def test_hook_updates_land_before_the_traffic_shift_starts(templates: dict[str, dict[str, Any]]) -> None:
    alias = resource_with_prefix(templates["dev"], "AWS::Lambda::Alias", "FunctionLive")
    depends = alias.get("DependsOn", [])
    assert any(d.startswith("DeliveryPreTrafficHookLive") for d in depends)
    assert any(d.startswith("DeliveryPostTrafficHookLive") for d in depends)


def test_deployments_notify_the_operations_topic(templates: dict[str, dict[str, Any]]) -> None:
    for group in resources_of(templates["prod-eu-west-1"], "AWS::CodeDeploy::DeploymentGroup").values():
        (trigger,) = group["Properties"]["TriggerConfigurations"]
        assert _ref(trigger["TriggerTargetArn"]).startswith("OperationsAlarmTopic")
        assert set(trigger["TriggerEvents"]) >= {
            "DeploymentStart",
            "DeploymentSuccess",
            "DeploymentFailure",
            "DeploymentRollback",
        }


def test_provisioned_concurrency_lives_on_the_alias_codedeploy_shifts(templates: dict[str, dict[str, Any]]) -> None:
    alias = resource_with_prefix(templates["prod-eu-west-1"], "AWS::Lambda::Alias", "FunctionLive")
    assert alias["Properties"]["ProvisionedConcurrencyConfig"] == {"ProvisionedConcurrentExecutions": 2}
    assert "CodeDeployLambdaAliasUpdate" in alias["UpdatePolicy"]


def test_a_custom_canary_name_creates_a_custom_deployment_config() -> None:
    context = {**cdk_json_context(), "environments.staging.deployment": '{"strategy": "CANARY_25_PERCENT_7_MINUTES"}'}
    config = load_config(context)
    app = cdk.App(context=cdk_json_context())
    stack = ItemsStack(
        app,
        "Items",
        env_config=config.environments["staging"],
        env=cdk.Environment(account="222222222222", region="eu-west-1"),
    )
    template = assertions.Template.from_stack(stack)
    template.has_resource_properties(
        "AWS::CodeDeploy::DeploymentConfig",
        {
            "ComputePlatform": "Lambda",
            "TrafficRoutingConfig": {
                "Type": "TimeBasedCanary",
                "TimeBasedCanary": {"CanaryInterval": 7, "CanaryPercentage": 25},
            },
        },
    )
