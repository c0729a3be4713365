"""CodePipeline V2 stage conditions on the pipeline CDK Pipelines generates, which exposes none (aws-cdk
issues 30083 and 33511): the one place that sets them, after ``build_pipeline()``.

- **Automatic rollback**: every deployed stage has ``OnFailure: ROLLBACK``, so a failed stage is
  redeployed with the artifacts of the last execution that succeeded in it. CodePipeline rolls back only to
  an execution started in the current pipeline structure version (a run that changed the pipeline has no
  target yet, and its failed stage stays failed).
- **Bake**: ``OnSuccess`` of a stage holds one CloudWatchAlarm rule per region that watches the stage's
  release-health alarm for ``bake_minutes`` (the rule's ``WaitTime``); an ALARM in that time rolls the
  stage back. The run is still in the stage while it bakes, so no other release can replace the one being
  watched, and the next environment is entered only after the bake passed.
- **Deployment window**: ``BeforeEntry`` of a stage holds a DeploymentWindow rule; the run waits at the
  entry until the window opens. It has a condition of its own: an alarm rule beside it would be checked
  once, before the window opens, and never again (CodePipeline's rule reference says so).
- **Execution mode**: SUPERSEDED. Rollback works in SUPERSEDED and QUEUED mode, not in PARALLEL (where two
  runs could also deploy into one environment at once). SUPERSEDED lets a release waiting at the prod
  approval or the window be replaced by a newer one that passed the same gates, so nothing queues up
  behind an approver; QUEUED would make them approve every waiting release in turn.

A rule reads alarms of another account through the role it names (CodePipeline assumes it with the
pipeline's role): the CDK bootstrap lookup role of the alarm's account and region, which exists once the
account is bootstrapped with ``--trust <pipeline account>`` (before the pipeline does), trusts that
account and may read CloudWatch (``ReadOnlyAccess``).
"""

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from aws_cdk import DefaultStackSynthesizer
from aws_cdk import aws_codepipeline as codepipeline
from aws_cdk import aws_iam as iam

EXECUTION_MODE = "SUPERSEDED"


def lookup_role_arn(account: str, region: str) -> str:
    """The CDK bootstrap lookup role of an account and region (default qualifier)."""
    qualifier = DefaultStackSynthesizer.DEFAULT_QUALIFIER
    return f"arn:aws:iam::{account}:role/cdk-{qualifier}-lookup-role-{account}-{region}"


@dataclass(frozen=True)
class WatchedAlarm:
    """An alarm a bake watches, where it lives."""

    account: str
    region: str
    alarm_name: str

    @property
    def reader_role_arn(self) -> str:
        return lookup_role_arn(self.account, self.region)


@dataclass(frozen=True)
class DeploymentWindow:
    cron: str
    time_zone: str


@dataclass(frozen=True)
class StageGates:
    """The conditions of one pipeline stage (a deployed environment)."""

    stage_name: str
    bake_minutes: int = 0
    watched: tuple[WatchedAlarm, ...] = ()
    window: DeploymentWindow | None = None
    rollback: bool = True


def _rule(name: str, provider: str, configuration: dict[str, str], **extra: str) -> dict[str, Any]:
    return {
        "Name": name,
        "RuleTypeId": {"Category": "Rule", "Owner": "AWS", "Provider": provider, "Version": "1"},
        "Configuration": configuration,
        **extra,
    }


def stage_conditions(gates: StageGates) -> dict[str, Any]:
    """The stage declaration's ``OnFailure``, ``OnSuccess`` and ``BeforeEntry`` properties, as CloudFormation
    takes them."""
    conditions: dict[str, Any] = {}
    if gates.rollback:
        conditions["OnFailure"] = {"Result": "ROLLBACK"}
    if gates.bake_minutes:
        if not gates.watched:
            raise ValueError(f"stage {gates.stage_name}: a bake needs the alarms it watches")
        rules = [
            _rule(
                f"Bake-{gates.stage_name}-{alarm.region}",
                "CloudWatchAlarm",
                {"AlarmName": alarm.alarm_name, "AlarmStates": "ALARM", "WaitTime": str(gates.bake_minutes)},
                Region=alarm.region,
                RoleArn=alarm.reader_role_arn,
            )
            for alarm in gates.watched
        ]
        conditions["OnSuccess"] = {"Conditions": [{"Result": "ROLLBACK", "Rules": rules}]}
    if gates.window:
        window = _rule(
            f"Window-{gates.stage_name}",
            "DeploymentWindow",
            {"Cron": gates.window.cron, "TimeZone": gates.window.time_zone},
        )
        conditions["BeforeEntry"] = {"Conditions": [{"Result": "FAIL", "Rules": [window]}]}
    return conditions


def apply_stage_gates(pipeline: codepipeline.Pipeline, gates: Sequence[StageGates]) -> None:
    """Set the execution mode and each stage's conditions on the built pipeline, and let its role assume
    the roles the alarm rules read with."""
    cfn = pipeline.node.default_child
    assert isinstance(cfn, codepipeline.CfnPipeline)
    cfn.execution_mode = EXECUTION_MODE
    names = [stage.stage_name for stage in pipeline.stages]
    for stage_gates in gates:
        if stage_gates.stage_name not in names:
            raise ValueError(f"the pipeline has no stage {stage_gates.stage_name!r} (stages: {', '.join(names)})")
        index = names.index(stage_gates.stage_name)
        for key, value in stage_conditions(stage_gates).items():
            cfn.add_property_override(f"Stages.{index}.{key}", value)
    readers = sorted({alarm.reader_role_arn for stage_gates in gates for alarm in stage_gates.watched})
    if readers:
        pipeline.role.add_to_principal_policy(
            iam.PolicyStatement(sid="ReadTheAlarmsBakesWatch", actions=["sts:AssumeRole"], resources=readers)
        )
