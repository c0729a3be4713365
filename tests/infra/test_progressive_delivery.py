"""Every application function is released through its `live` alias by CodeDeploy, with one shared
pair of hooks per stack, synthetic traffic during each shift, version-scoped alarms that fit the
shift, automatic rollback and notifications, configured per environment."""

import json
import re
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import assertions

from config.loading import cdk_json_context, load_config
from config.schema import parse_traffic_shift
from services.items.stack import ItemsStack
from services.platform.delivery import BAKE_SECONDS, NEW_VERSION_REQUESTS_PER_PERIOD
from stages.application_stage import items_props
from tests.synth_fixtures import Synthesized, rendered, resource_with_prefix, resources_of

STAGES = ("dev", "staging", "prod-eu-west-1", "prod-eu-central-1")
EXPECTED_CONFIG = {
    "dev": "CodeDeployDefault.LambdaAllAtOnce",
    "staging": "CodeDeployDefault.LambdaCanary10Percent5Minutes",
    "prod-eu-west-1": "CodeDeployDefault.LambdaLinear10PercentEvery1Minute",
    "prod-eu-central-1": "CodeDeployDefault.LambdaLinear10PercentEvery1Minute",
}
# Predefined CodeDeploy Lambda configs: (first share in %, interval in minutes); 0 for all at once.
PREDEFINED_SHIFTS = {
    "CodeDeployDefault.LambdaAllAtOnce": (100, 0),
    "CodeDeployDefault.LambdaCanary10Percent5Minutes": (10, 5),
    "CodeDeployDefault.LambdaLinear10PercentEvery1Minute": (10, 1),
}
HOOKS = ("DeploymentHooksPreTrafficHook", "DeploymentHooksPostTrafficHook", "DeploymentHooksSyntheticTraffic")
LAMBDA_ENVIRONMENT_LIMIT_BYTES = 4096


@pytest.fixture(scope="module")
def templates(synthesized: Synthesized) -> dict[str, dict[str, Any]]:
    return {stage_id: synthesized.stage_template(stage_id) for stage_id in STAGES}


def _ref(value: Any) -> str:
    return value.get("Ref") or value.get("Fn::GetAtt", [""])[0]


def _groups(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return resources_of(template, "AWS::CodeDeploy::DeploymentGroup")


def _items_group(template: dict[str, Any]) -> dict[str, Any]:
    return resource_with_prefix(template, "AWS::CodeDeploy::DeploymentGroup", "DeliveryDeploymentGroup")


def _is_hook(function_id: str) -> bool:
    return function_id.startswith(HOOKS)


def _function_variables(template: dict[str, Any], prefix: str) -> dict[str, Any]:
    function = resource_with_prefix(template, "AWS::Lambda::Function", prefix + "Function")
    return dict(function["Properties"]["Environment"]["Variables"])


def _targets(template: dict[str, Any], hook: str) -> list[str]:
    """The DEPLOYMENT_TARGET_<n> values of a hook, as the JSON text with references written <LogicalId>."""
    variables = _function_variables(template, hook)
    return [rendered(value) for name, value in sorted(variables.items()) if name.startswith("DEPLOYMENT_TARGET_")]


def _role_statements(template: dict[str, Any], role_prefix: str) -> list[dict[str, Any]]:
    return [
        statement
        for policy in resources_of(template, "AWS::IAM::Policy").values()
        if any(_ref(role).startswith(role_prefix) for role in policy["Properties"]["Roles"])
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
    ]


def test_every_application_function_is_reached_only_through_a_codedeploy_managed_alias(
    templates: dict[str, dict[str, Any]],
) -> None:
    for stage_id, template in templates.items():
        resources = template["Resources"]
        versions = resources_of(template, "AWS::Lambda::Version")
        aliases = resources_of(template, "AWS::Lambda::Alias")
        applications = [f for f in resources_of(template, "AWS::Lambda::Function") if not _is_hook(f)]
        assert len(applications) == 3, stage_id  # the API function, the ingest worker, the importer
        for function_id in applications:
            (alias,) = [
                a
                for a in aliases.values()
                if _ref(versions[_ref(a["Properties"]["FunctionVersion"])]["Properties"]["FunctionName"]) == function_id
            ]
            group = resources[alias["UpdatePolicy"]["CodeDeployLambdaAliasUpdate"]["DeploymentGroupName"]["Ref"]]
            assert group["Type"] == "AWS::CodeDeploy::DeploymentGroup"
        # Nothing invokes an application function directly: permissions and integrations name aliases.
        for permission in resources_of(template, "AWS::Lambda::Permission").values():
            assert _ref(permission["Properties"]["FunctionName"]) in aliases, stage_id


def test_hooks_are_shared_plain_functions_without_a_release_of_their_own(
    templates: dict[str, dict[str, Any]],
) -> None:
    for stage_id, template in templates.items():
        hooks = [f for f in resources_of(template, "AWS::Lambda::Function") if _is_hook(f)]
        assert len(hooks) == 3, stage_id
        assert len(_groups(template)) == 3, "one deployment group per application function, none for hooks"
        assert len(resources_of(template, "AWS::CodeDeploy::Application")) == 1
        versioned = {
            _ref(v["Properties"]["FunctionName"]) for v in resources_of(template, "AWS::Lambda::Version").values()
        }
        assert not versioned & set(hooks), stage_id
        for group in _groups(template).values():
            assert group["Properties"]["ApplicationName"]["Ref"].startswith("DeploymentHooksApplication")


def test_every_deployment_group_uses_the_same_pair_of_hooks(templates: dict[str, dict[str, Any]]) -> None:
    for template in templates.values():
        updates = [
            a["UpdatePolicy"]["CodeDeployLambdaAliasUpdate"]
            for a in resources_of(template, "AWS::Lambda::Alias").values()
        ]
        assert len(updates) == 3
        assert {_ref(u["BeforeAllowTrafficHook"]) for u in updates} == {
            next(f for f in resources_of(template, "AWS::Lambda::Function") if f.startswith(HOOKS[0]))
        }
        assert len({_ref(u["AfterAllowTrafficHook"]) for u in updates}) == 1


def test_asynchronous_settings_sit_on_the_qualifier_callers_invoke(templates: dict[str, dict[str, Any]]) -> None:
    for template in templates.values():
        for config_id, config in resources_of(template, "AWS::Lambda::EventInvokeConfig").items():
            qualifier = config["Properties"]["Qualifier"]
            if config_id.startswith(HOOKS):
                assert qualifier == "$LATEST", config_id  # CodeDeploy calls hooks unqualified
            else:
                assert _ref(qualifier["Fn::Select"][1]["Fn::Split"][1]).startswith(
                    ("FunctionLive", "IngestWorkerLive", "IngestImporterLive")
                )


def test_items_deployment_config_follows_the_environment(templates: dict[str, dict[str, Any]]) -> None:
    actual = {s: _items_group(t)["Properties"]["DeploymentConfigName"] for s, t in templates.items()}
    assert actual == EXPECTED_CONFIG


def test_rollback_happens_on_failure_stop_and_alarm(templates: dict[str, dict[str, Any]]) -> None:
    for template in templates.values():
        for group in _groups(template).values():
            rollback = group["Properties"]["AutoRollbackConfiguration"]
            assert rollback["Enabled"] is True
            assert set(rollback["Events"]) == {
                "DEPLOYMENT_FAILURE",
                "DEPLOYMENT_STOP_ON_REQUEST",
                "DEPLOYMENT_STOP_ON_ALARM",
            }


def _alarm_dimensions(template: dict[str, Any], alarm_id: str) -> dict[str, Any]:
    alarm = template["Resources"][alarm_id]["Properties"]
    return {d["Name"]: d["Value"] for d in alarm["Dimensions"]}


def test_deployments_watch_only_signals_of_the_new_version(templates: dict[str, dict[str, Any]]) -> None:
    """An alarm about the whole service would keep a fix from rolling forward during an incident."""
    for stage_id, template in templates.items():
        for group_id, group in _groups(template).items():
            alarms = group["Properties"]["AlarmConfiguration"]
            assert alarms["Enabled"] is True
            names = [_ref(a["Name"]) for a in alarms["Alarms"]]
            assert len(names) >= 3, group_id
            for alarm_id in names:
                dimensions = _alarm_dimensions(template, alarm_id)
                version = dimensions.get("ExecutedVersion") or dimensions.get("version")
                assert version is not None, (stage_id, alarm_id)
                assert "CurrentVersion" in json.dumps(version), (stage_id, alarm_id)


def test_the_api_deployment_watches_the_new_versions_own_server_errors(templates: dict[str, dict[str, Any]]) -> None:
    for template in templates.values():
        names = [_ref(a["Name"]) for a in _items_group(template)["Properties"]["AlarmConfiguration"]["Alarms"]]
        (server_errors,) = [n for n in names if n.startswith("DeliveryNewVersionServerErrors")]
        alarm = template["Resources"][server_errors]["Properties"]
        assert alarm["MetricName"] == "ServerErrors"
        assert set(_alarm_dimensions(template, server_errors)) == {"service", "version"}
        assert not any(n.startswith("Operations") for n in names)


def test_every_deployment_alarm_can_fire_within_one_shift_interval(templates: dict[str, dict[str, Any]]) -> None:
    for stage_id, template in templates.items():
        for group in _groups(template).values():
            first_share, interval_minutes = PREDEFINED_SHIFTS[group["Properties"]["DeploymentConfigName"]]
            for alarm in group["Properties"]["AlarmConfiguration"]["Alarms"]:
                properties = template["Resources"][_ref(alarm["Name"])]["Properties"]
                window = properties["Period"] * properties["EvaluationPeriods"]
                assert properties["DatapointsToAlarm"] == properties["EvaluationPeriods"]
                if interval_minutes:
                    assert window <= interval_minutes * 60, (stage_id, alarm)
                # The post-traffic hook waits one window (plus CloudWatch's delay) before reading the alarms.
                assert window < BAKE_SECONDS
            assert first_share > 0


def test_the_pre_traffic_hook_probes_each_new_version_and_orders_traffic_for_its_alias(
    templates: dict[str, dict[str, Any]],
) -> None:
    for template in templates.values():
        targets = [json.loads(re.sub(r"<([A-Za-z0-9]+)>", r"\1", t)) for t in _targets(template, HOOKS[0])]
        assert {t["group"][:-8] for t in targets} == {
            "DeliveryDeploymentGroup",
            "IngestDeliveryDeploymentGroup",
            "ImportDeliveryDeploymentGroup",
        }
        strategy = _items_group(template)["Properties"]["DeploymentConfigName"]
        first_share, interval = PREDEFINED_SHIFTS[strategy]
        for target in targets:
            assert "CurrentVersion" in target["version_arn"]
            assert target["alias_arn"].endswith(":live")
            # Enough synthetic requests that the new version's first share sees several per minute.
            assert target["traffic"]["per_minute"] * first_share / 100 >= NEW_VERSION_REQUESTS_PER_PERIOD
            # ... for the whole shift, the post-traffic wait included.
            steps = 100 // first_share if "Linear" in strategy else 1
            assert target["traffic"]["seconds"] >= interval * 60 * steps + BAKE_SECONDS
        probe = next(t for t in targets if t["group"].startswith("Delivery"))["probe_event"]
        assert (probe["httpMethod"], probe["path"], probe["resource"]) == ("GET", "/health", "/health")


def test_the_post_traffic_hook_checks_each_groups_own_alarms(templates: dict[str, dict[str, Any]]) -> None:
    template = templates["dev"]
    targets = {t.split('"group":"<')[1].split(">")[0]: t for t in _targets(template, HOOKS[1])}
    for group_id, group in _groups(template).items():
        for alarm in group["Properties"]["AlarmConfiguration"]["Alarms"]:
            assert f"<{_ref(alarm['Name'])}>" in targets[group_id]
    assert _function_variables(template, HOOKS[1])["BAKE_SECONDS"] == str(BAKE_SECONDS)


def test_hooks_may_read_the_deployment_and_invoke_exactly_what_they_release(
    templates: dict[str, dict[str, Any]],
) -> None:
    template = templates["staging"]
    for hook in HOOKS:
        reads = [
            resource
            for s in _role_statements(template, hook)
            if "codedeploy:GetDeployment" in s["Action"]
            for resource in (s["Resource"] if isinstance(s["Resource"], list) else [s["Resource"]])
        ]
        assert len(reads) == 3, hook
        assert all("deploymentgroup:" in json.dumps(r) for r in reads)
    invoked = {
        _ref(resource)
        for s in _role_statements(template, HOOKS[0])
        if s["Action"] == "lambda:InvokeFunction"
        for resource in (s["Resource"] if isinstance(s["Resource"], list) else [s["Resource"]])
    }
    assert any(i.startswith("FunctionCurrentVersion") for i in invoked)
    assert any(i.startswith("IngestWorkerFunctionCurrentVersion") for i in invoked)
    assert any(i.startswith("IngestImporterFunctionCurrentVersion") for i in invoked)
    assert any(i.startswith("DeploymentHooksSyntheticTrafficFunction") for i in invoked)
    traffic_invokes = [
        json.dumps(s["Resource"])
        for s in _role_statements(template, HOOKS[2])
        if s["Action"] == "lambda:InvokeFunction"
    ]
    assert sum(r.count(':live"') for r in traffic_invokes) == 3


def test_hook_updates_land_before_the_traffic_shift_starts(templates: dict[str, dict[str, Any]]) -> None:
    for alias in resources_of(templates["dev"], "AWS::Lambda::Alias").values():
        depends = alias.get("DependsOn", [])
        assert any(d.startswith("DeploymentHooksPreTrafficHookFunction") for d in depends)
        assert any(d.startswith("DeploymentHooksPostTrafficHookFunction") for d in depends)


def test_hook_environments_fit_lambdas_limit(templates: dict[str, dict[str, Any]]) -> None:
    for template in templates.values():
        for function_id, function in resources_of(template, "AWS::Lambda::Function").items():
            variables = function["Properties"].get("Environment", {}).get("Variables", {})
            # References resolve to at most ~140 characters (a version ARN); count them generously.
            size = sum(len(k) + len(json.dumps(v)) for k, v in variables.items())
            assert size < LAMBDA_ENVIRONMENT_LIMIT_BYTES, (function_id, size)


def test_deployments_notify_the_operations_topic(templates: dict[str, dict[str, Any]]) -> None:
    for group in _groups(templates["prod-eu-west-1"]).values():
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


def test_alarm_thresholds_follow_the_environment(templates: dict[str, dict[str, Any]]) -> None:
    def duration(stage_id: str) -> float:
        alarm = resource_with_prefix(templates[stage_id], "AWS::CloudWatch::Alarm", "DeliveryNewVersionDurationP99")
        return float(alarm["Properties"]["Threshold"])

    assert [duration(s) for s in ("dev", "staging", "prod-eu-west-1")] == [3000, 2000, 1500]


def test_a_custom_canary_name_creates_a_custom_deployment_config() -> None:
    context = {**cdk_json_context(), "environments.staging.deployment": '{"strategy": "CANARY_25_PERCENT_7_MINUTES"}'}
    config = load_config(context)
    assert parse_traffic_shift("CANARY_25_PERCENT_7_MINUTES").minutes == 7
    app = cdk.App(context=cdk_json_context())
    stack = ItemsStack(
        app,
        "Items",
        props=items_props(
            config.environments["staging"], smoke_test_role_arn=config.smoke_test_role_arn("staging", "eu-west-1")
        ),
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
