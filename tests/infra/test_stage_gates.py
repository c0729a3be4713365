"""Stage gates on the generated pipeline (pipeline/stage_gates.py): automatic rollback of every deployed
stage, staging's bake on its release-health alarm, prod's deployment window, the execution mode; per
environment as the committed configuration sets them, and in the other account layouts."""

import json
from pathlib import Path
from typing import Any

import pytest

from pipeline.stage_gates import DeploymentWindow, StageGates, WatchedAlarm, stage_conditions
from tests.synth_fixtures import Synthesized, only_resource, resources_of

DEPLOYED = ("dev", "staging", "prod")


def _pipeline(template: dict[str, Any]) -> dict[str, Any]:
    _, resource = only_resource(template, "AWS::CodePipeline::Pipeline")
    return dict(resource["Properties"])


@pytest.fixture(scope="module")
def stages(synthesized: Synthesized) -> dict[str, dict[str, Any]]:
    return {stage["Name"]: stage for stage in _pipeline(synthesized.pipeline)["Stages"]}


def _rules(stage: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [rule for condition in stage[kind]["Conditions"] for rule in condition["Rules"]]


def test_every_deployed_stage_rolls_back_to_its_last_good_release_on_failure(stages: dict[str, dict[str, Any]]) -> None:
    for name in DEPLOYED:
        assert stages[name]["OnFailure"] == {"Result": "ROLLBACK"}, name
    for name in ("Source", "Build", "UpdatePipeline", "Assets", "prod-approval"):
        assert "OnFailure" not in stages[name], name


def test_the_pipeline_runs_superseded_which_allows_rollback(synthesized: Synthesized) -> None:
    assert _pipeline(synthesized.pipeline)["ExecutionMode"] == "SUPERSEDED"


def test_staging_bakes_thirty_minutes_on_its_release_health_alarm_and_rolls_back_on_alarm(
    stages: dict[str, dict[str, Any]],
) -> None:
    (condition,) = stages["staging"]["OnSuccess"]["Conditions"]
    assert condition["Result"] == "ROLLBACK"
    (rule,) = condition["Rules"]
    assert rule["RuleTypeId"] == {"Category": "Rule", "Owner": "AWS", "Provider": "CloudWatchAlarm", "Version": "1"}
    assert rule["Configuration"] == {
        "AlarmName": "items-staging-release-health",
        "AlarmStates": "ALARM",
        "WaitTime": "30",
    }
    assert rule["Region"] == "eu-west-1"


def test_the_bake_reads_stagings_alarm_with_the_staging_accounts_lookup_role(stages: dict[str, dict[str, Any]]) -> None:
    (rule,) = _rules(stages["staging"], "OnSuccess")
    assert rule["RoleArn"] == "arn:aws:iam::222222222222:role/cdk-hnb659fds-lookup-role-222222222222-eu-west-1"


def test_environments_without_a_bake_have_no_success_condition(stages: dict[str, dict[str, Any]]) -> None:
    assert "OnSuccess" not in stages["dev"]
    assert "OnSuccess" not in stages["prod"]


def test_prod_is_entered_only_inside_its_deployment_window(stages: dict[str, dict[str, Any]]) -> None:
    (condition,) = stages["prod"]["BeforeEntry"]["Conditions"]
    assert condition["Result"] == "FAIL"
    # Alone in its condition: an alarm rule beside it would be checked once, before the window opens.
    (rule,) = condition["Rules"]
    assert rule["RuleTypeId"]["Provider"] == "DeploymentWindow"
    assert rule["Configuration"] == {"Cron": "* * 8-16 ? * MON-THU *", "TimeZone": "Europe/Dublin"}
    for name in ("dev", "staging", "prod-approval"):
        assert "BeforeEntry" not in stages[name], name


def test_the_pipeline_role_may_assume_exactly_the_roles_its_alarm_rules_name(
    synthesized: Synthesized, stages: dict[str, dict[str, Any]]
) -> None:
    named = sorted(
        {rule["RoleArn"] for stage in stages.values() if "OnSuccess" in stage for rule in _rules(stage, "OnSuccess")}
    )
    statements = [
        statement
        for policy_id, policy in resources_of(synthesized.pipeline, "AWS::IAM::Policy").items()
        if policy_id.startswith("PipelineRoleDefaultPolicy")
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
        if statement.get("Sid") == "ReadTheAlarmsBakesWatch"
    ]
    assert statements == [
        {"Action": "sts:AssumeRole", "Effect": "Allow", "Resource": named[0], "Sid": "ReadTheAlarmsBakesWatch"}
    ]


def test_the_release_health_alarm_is_in_alarm_while_any_alarm_of_the_stack_is(synthesized: Synthesized) -> None:
    template = synthesized.stage_template("staging")
    _, composite = only_resource(template, "AWS::CloudWatch::CompositeAlarm")
    properties = composite["Properties"]
    assert properties["AlarmName"] == "items-staging-release-health"
    assert properties["ActionsEnabled"] is False, "each alarm notifies already"
    rule = json.dumps(properties["AlarmRule"])
    alarms = resources_of(template, "AWS::CloudWatch::Alarm")
    assert alarms
    assert all(f'"{logical_id}"' in rule for logical_id in alarms)
    assert rule.count("ALARM(") == len(alarms)
    assert " OR " in rule


def test_in_one_account_the_bake_reads_with_that_accounts_lookup_role(topology_outdirs: dict[str, Path]) -> None:
    template = json.loads((topology_outdirs["one account"] / "Pipeline.template.json").read_text())
    staging = next(s for s in _pipeline(template)["Stages"] if s["Name"] == "staging")
    (rule,) = _rules(staging, "OnSuccess")
    assert rule["RoleArn"] == "arn:aws:iam::111111111111:role/cdk-hnb659fds-lookup-role-111111111111-eu-west-1"


def test_a_stage_of_one_region_in_another_layout_keeps_its_gates(topology_outdirs: dict[str, Path]) -> None:
    template = json.loads((topology_outdirs["account per environment"] / "Pipeline.template.json").read_text())
    prod = next(s for s in _pipeline(template)["Stages"] if s["Name"] == "prod")
    assert prod["OnFailure"] == {"Result": "ROLLBACK"}
    assert _rules(prod, "BeforeEntry")[0]["RuleTypeId"]["Provider"] == "DeploymentWindow"


# --- the conditions themselves ---------------------------------------------------------------------------------


def test_a_bake_over_several_regions_watches_each_with_its_own_rule() -> None:
    watched = tuple(
        WatchedAlarm("333333333333", region, "items-prod-release-health") for region in ("eu-west-1", "eu-central-1")
    )
    conditions = stage_conditions(StageGates("prod", bake_minutes=15, watched=watched))
    (condition,) = conditions["OnSuccess"]["Conditions"]
    assert [(r["Name"], r["Region"], r["Configuration"]["WaitTime"]) for r in condition["Rules"]] == [
        ("Bake-prod-eu-west-1", "eu-west-1", "15"),
        ("Bake-prod-eu-central-1", "eu-central-1", "15"),
    ]
    assert [r["RoleArn"] for r in condition["Rules"]] == [
        f"arn:aws:iam::333333333333:role/cdk-hnb659fds-lookup-role-333333333333-{region}"
        for region in ("eu-west-1", "eu-central-1")
    ]


def test_a_stage_without_gates_only_rolls_back() -> None:
    assert stage_conditions(StageGates("dev")) == {"OnFailure": {"Result": "ROLLBACK"}}


def test_a_window_takes_the_configured_time_zone() -> None:
    conditions = stage_conditions(StageGates("prod", window=DeploymentWindow("* * 9-17 ? * MON-FRI *", "UTC+05:30")))
    (rule,) = conditions["BeforeEntry"]["Conditions"][0]["Rules"]
    assert rule["Configuration"]["TimeZone"] == "UTC+05:30"


def test_a_bake_without_alarms_to_watch_is_refused() -> None:
    with pytest.raises(ValueError, match="stage staging: a bake needs the alarms it watches"):
        stage_conditions(StageGates("staging", bake_minutes=30))
